"""benchmarks/training_curves.py draws a real run's log (with negatives' accuracies) as a PNG, and
names a folder without a log in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from billow.train import Trainer, resolve

from ..train.conftest import make_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import training_curves


def test_curves_of_a_run_are_drawn(tmp_path):
    torch.set_num_threads(1)
    data = make_dataset(tmp_path / "pairs", dim=2)
    cfg = resolve(None, generator="fast", dim=2, width=8, blocks=1, mid_channels=4,
                  iterations=4, batch=2, tile=4, context=2, val_every=2, val_batches=1,
                  log_every=1, sample_every=0, checkpoint_every=100, tensorboard="off",
                  d_negatives=1.0, d_negative_kinds="blur,lattice", lambda_spectrum=1.0)
    Trainer(cfg, tmp_path / "run", data_path=data).train()
    rows = training_curves.read_log(tmp_path / "run")
    assert any("d_s_acc_lattice" in r for r in rows) and any("g_spectrum" in r for r in rows)
    out = tmp_path / "curves.png"
    assert training_curves.main([str(tmp_path / "run"), "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit, match="no log"):
        training_curves.main([str(tmp_path / "nothing"), "--out", str(out)])
