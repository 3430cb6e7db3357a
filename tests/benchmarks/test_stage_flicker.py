"""benchmarks/stage_flicker.py on the shipped model and real VDB files: a still input gives no
flicker at any stage, while the reference's moving texture gives some; the stages are the
generator's own (the output stage is what the network returns)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from billow.infer.backends import torch_module_from_card
from billow.io import SmokeFrame, Volume, write_smoke_frame
from billow.io.model_card import load_card
from billow.ops.normalise import frame_scales

from tests.conftest import scaled_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import stage_flicker

from tests.benchmarks.test_ood_motion import waves

MODEL = Path(stage_flicker.__file__).resolve().parents[1] / "engine/billow/models/smoke3d_x4.onnx"


def frame(path: Path, rho: np.ndarray, vel: np.ndarray | None) -> None:
    m = scaled_matrix(1 / rho.shape[0], (0.5 / rho.shape[0],) * 3)
    velocity = None if vel is None else Volume("vel", vel, (0, 0, 0), m,
                                                vector_type="contravariant relative")
    write_smoke_frame(path, SmokeFrame(path, Volume("density", rho.astype(np.float32),
                                                    (0, 0, 0), m), velocity, {},
                                       {"fps": 24.0}))


@pytest.mark.skipif(not MODEL.exists(), reason="the shipped model is not present")
def test_a_still_input_does_not_flicker_at_any_stage(tmp_path, capsys):
    g = np.random.default_rng(0)
    texture = waves(g)  # 32^3, moved one voxel per frame in the reference
    sim = tmp_path / "set" / "vdb" / "sim_0000"
    sim.mkdir(parents=True)
    (tmp_path / "set" / "set.json").write_text(json.dumps({"hr_res": [32, 32, 32]}))
    low = texture.reshape(8, 4, 8, 4, 8, 4).mean((1, 3, 5))
    vel = (0.2 * g.standard_normal((8, 8, 8, 3))).astype(np.float32)
    for f in (1, 2, 3):
        frame(sim / f"lr.{f:04d}.vdb", low, vel)  # the same input every frame
        frame(sim / f"hr.{f:04d}.vdb", np.roll(texture, f, axis=0), None)
    seqs = stage_flicker.stage_sequences(tmp_path / "set", MODEL, [1, 2, 3])
    assert stage_flicker.mean_flicker(seqs["reference"]) > 0.01
    for k in stage_flicker.STAGES:
        assert stage_flicker.mean_flicker(seqs[k]) == 0, k
    net = torch_module_from_card(load_card(MODEL)).eval()
    s_d, s_v = frame_scales(low, vel)
    x = torch.cat([torch.from_numpy(low / s_d)[None, None],
                   torch.from_numpy(np.moveaxis(vel / s_v, -1, 0).copy())[None]], 1).float()
    with torch.no_grad():
        assert torch.allclose(seqs["output"][0], net(x)[0, 0] * s_d)
    stage_flicker.main(["--set-dir", str(tmp_path / "set"), "--model", str(MODEL),
                        "--frames", "1-3", "--threads", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0].strip() for ln in lines] == list(stage_flicker.STAGES)
