"""benchmarks/lattice_stages.py and SmoothGenerator.stages: where a generator's lattice appears,
on a real VDB frame and the shipped model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from billow.infer.models import models_dir
from billow.io import SmokeFrame, Volume, write_smoke_frame
from billow.nets import build_generator
from billow.nets.generators import GeneratorConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import lattice_stages

MODEL = models_dir() / "smoke3d_x4.onnx"


@pytest.mark.parametrize("gate", ["speed", "none"])
def test_stages_add_up_to_the_forward_pass(gate):
    torch.manual_seed(0)
    g = build_generator(GeneratorConfig(generator="smooth", dim=3, width=8, blocks=1,
                                        mid_channels=4, fine_channels=4, detail_gate=gate,
                                        projection="block"))
    notched = build_generator(GeneratorConfig(generator="smooth", dim=3, width=8, blocks=1,
                                              mid_channels=4, fine_channels=4,
                                              detail_gate=gate, projection="block",
                                              output_form="gain", lattice_notch=True))
    for p in g.parameters():  # the residual starts at zero: make it say something
        torch.nn.init.normal_(p, std=0.2)
    x = torch.cat([torch.rand(1, 1, 6, 6, 6), torch.randn(1, 3, 6, 6, 6)], dim=1)
    with torch.no_grad():
        st = g.stages(x)
        assert torch.equal(st["output"], g(x))
    assert torch.allclose(st["sum"], st["base"] + st["structure"] + st["detail"], atol=1e-6)
    assert torch.equal(st["clamped"], torch.relu(st["sum"]))
    assert (st["sum"] < 0).any()  # the clamp has work to do
    if gate == "none":
        assert not st["detail"].any()
    assert torch.equal(st["projected"], st["output"])  # no notch: nothing after the projection
    notched.load_state_dict(g.state_dict())
    with torch.no_grad():
        st = notched.stages(x)
        assert torch.equal(st["output"], notched(x))
    assert not torch.equal(st["projected"], st["output"])  # the notch's stage is its own


@pytest.mark.skipif(not MODEL.exists(), reason="the shipped model is not present")
def test_lattice_stages_measures_every_stage_of_the_shipped_model(tmp_path, capsys):
    g = np.random.default_rng(0)
    side = 16
    x = np.stack(np.meshgrid(*[np.linspace(-1, 1, side)] * 3, indexing="ij"))
    rho = (np.exp(-3 * (x ** 2).sum(0)) * (0.5 + g.random((side,) * 3))).astype(np.float32)
    vel = (0.3 * g.standard_normal((side, side, side, 3))).astype(np.float32)
    m = np.diag([0.1, 0.1, 0.1, 1.0])
    path = tmp_path / "lr.0001.vdb"
    write_smoke_frame(path, SmokeFrame(path, Volume("density", rho, (0, 0, 0), m),
                                       Volume("vel", vel, (0, 0, 0), m,
                                              vector_type="contravariant relative"),
                                       {}, {"fps": 24.0}))
    assert lattice_stages.main([str(path), str(MODEL), "--threads", "1"]) == 0
    row = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| smoke3d_x4")]
    values = [float(v) for v in row[0].strip("|").split("|")[1:]]
    assert len(values) == len(lattice_stages.STAGES) and all(v > 0 for v in values)


def test_lattice_stages_refuses_a_missing_frame_in_one_line(tmp_path, capsys):
    assert lattice_stages.main([str(tmp_path / "none.vdb"), str(MODEL)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lattice_stages: error:")
