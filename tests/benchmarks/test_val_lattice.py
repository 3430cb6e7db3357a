"""benchmarks/val_lattice.py: a run's checkpoints measured on its own validation simulations."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from billow.train import Trainer
from billow.train.export import load_generator

from ..train.conftest import make_dataset
from ..train.test_trainer import tiny

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import val_lattice


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny 3D gated model with whole-frame normalisation and the block projection, as the
    shipped default, trained one iteration on three small simulations (one held out)."""
    root = tmp_path_factory.mktemp("val_lattice")
    data = make_dataset(root / "data", dim=3, sims=3, frames=4, lr=8)
    cfg = tiny(dim=3, generator="smooth", detail_gate="speed", fine_channels=4,
               normalise="frame", projection="block", iterations=1, tile=2, context=1,
               batch=1, val_every=0, temporal="none", val_fraction=0.34)
    Trainer(cfg, root / "run", data_path=data).train()
    return data, root / "run"


def test_rows_per_checkpoint(run, tmp_path, capsys):
    data, folder = run
    out = tmp_path / "rows.json"
    assert val_lattice.main([str(folder), "--data", str(data), "--frames", "1,2",
                             "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert len(rows) == 1 and rows[0]["iteration"] == 1
    assert rows[0]["frames"] == 2  # one validation simulation, two frames
    assert all(math.isfinite(rows[0][k]) and rows[0][k] > 0
               for k in ("lattice", "lattice_in", "l1"))
    assert f"| {folder} | 1 | 2 |" in capsys.readouterr().out


def test_whole_frame_normalisation_makes_it_amplitude_equivariant(run):
    """The product's promise (issue 17): upres(k rho) = k upres(rho), because the scales come
    from the whole frame; the measurement must go through that normalisation, not around it."""
    _, folder = run
    g, cfg, _ = load_generator(folder)
    gen = torch.Generator().manual_seed(3)
    d = (torch.rand(8, 8, 8, generator=gen) ** 3).numpy()
    v = (torch.randn(3, 8, 8, 8, generator=gen) * 0.3).numpy()
    base = val_lattice.upres_whole(g, d, v, cfg.model.normalise)
    assert base.shape == (32, 32, 32)
    for k in (0.1, 10.0):
        scaled = val_lattice.upres_whole(g, k * d, v, cfg.model.normalise)
        assert np.abs(scaled - k * base).max() <= 1e-4 * k * np.abs(base).max()


@pytest.mark.parametrize("args, words", [(["--frames", "a,b"], "give frame indices"),
                                         (["--frames", "40"], "no validation frame")])
def test_bad_input_is_one_line_and_exit_2(run, capsys, args, words):
    data, folder = run
    assert val_lattice.main([str(folder), "--data", str(data), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
