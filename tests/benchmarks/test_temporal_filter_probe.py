"""benchmarks/temporal_filter_probe.py's filter: still smoke passes unchanged, mass is kept, and
detail re-drawn every frame flickers less after it."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from billow.metrics.temporal import flicker

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import temporal_filter_probe as probe


def smooth_field(side=32):
    x = torch.linspace(-1, 1, side)
    g = torch.stack(torch.meshgrid(x, x, x, indexing="ij"))
    return (0.2 + torch.exp(-3 * (g ** 2).sum(0)))[None, None]


def test_still_smoke_without_motion_passes_unchanged():
    y = smooth_field()
    still = torch.zeros(1, 3, *y.shape[2:])
    out = probe.fir([y] * 4, [still] * 4, [1, 1, 1])
    for o in out:
        assert torch.allclose(o, y, atol=1e-6)


def test_redrawn_detail_flickers_less_and_mass_is_kept():
    torch.manual_seed(0)
    base = smooth_field()
    raws = [base * (1 + 0.3 * (torch.rand_like(base) - 0.5)) for _ in range(6)]
    still = [torch.zeros(1, 3, *base.shape[2:])] * 6
    out = probe.fir(raws, still, [1, 1, 1])
    raw_f = flicker(raws[4][0, 0], raws[5][0, 0], 4)
    out_f = flicker(out[4][0, 0], out[5][0, 0], 4)
    assert out_f < 0.8 * raw_f, (out_f, raw_f)
    for r, o in zip(raws, out):
        assert abs(float(o.sum() / r.sum()) - 1) < 0.01
