"""benchmarks/d_probe.py: the discriminator probe runs on a real training run's checkpoint and
prints every row, including the 4-voxel lattice rows; bad input gives one line and exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from billow.train import Trainer, resolve

from ..train.conftest import make_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import d_probe


def test_dots_repeat_every_4_voxels_with_zero_mean_and_unit_std():
    dots = d_probe._dots(torch.zeros(1, 1, 10, 8, 6))
    assert dots.shape == (10, 8, 6)
    assert torch.equal(dots[:4], dots[4:8]) and torch.equal(dots[:, :4], dots[:, 4:8])
    cell = dots[:4, :4, :4]
    assert abs(float(cell.mean())) < 1e-6 and abs(float(cell.std()) - 1) < 1e-6
    assert int((cell == cell.max()).sum()) == 1


def test_probe_prints_every_row_for_a_run(tmp_path, capsys):
    torch.set_num_threads(1)
    data = make_dataset(tmp_path / "pairs", dim=2)
    cfg = resolve(None, generator="fast", dim=2, width=8, blocks=1, mid_channels=4,
                  iterations=2, batch=2, tile=4, context=2, val_every=0, sample_every=0,
                  checkpoint_every=100, tensorboard="off", d_negatives=1.0,
                  d_negative_kinds="blur,lattice")
    Trainer(cfg, tmp_path / "run", data_path=data).train()
    assert d_probe.main([str(tmp_path / "run"), "--data", str(data), "--batches", "1"]) == 0
    out = capsys.readouterr().out
    for row in ("| real |", "| generated |", "real + 4-voxel dots (1.0 x real high-band std)",
                "generated + 4-voxel dots (0.3 x", "real + flicker", "| (0.375, 0.5] |",
                "| real + dark iso-line contours |", "per-tile median"):
        assert row in out, row
    assert d_probe.main([str(tmp_path / "nothing"), "--data", str(data)]) == 2
    assert "d_probe: error:" in capsys.readouterr().err
