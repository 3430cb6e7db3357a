"""The out-of-family benchmark derives its Gaussian low-res input axis by axis for speed; it
must equal billow's own training derivation (billow.ops.downsample)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from billow.ops.downsample import downsample, downsample_velocity

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import ood_benchmark  # noqa: E402


def test_gauss_lr_equals_billow_downsample():
    g = torch.Generator().manual_seed(0)
    d = torch.rand(32, 24, 16, generator=g) ** 3
    v = torch.randn(3, 32, 24, 16, generator=g)
    out = ood_benchmark._derive(d, v)
    ref_d = downsample(d[None, None], 4)[0, 0]
    ref_v = downsample_velocity(v[None], 4)[0]
    assert torch.allclose(out["lr_gauss"][0], ref_d, atol=1e-6)
    assert torch.allclose(out["lr_gauss"][1], ref_v, atol=1e-6)
    # the box input is the plain block mean; mass is kept exactly by both
    assert torch.allclose(out["lr"][0], d.reshape(8, 4, 6, 4, 4, 4).mean((1, 3, 5)), atol=1e-6)
    assert abs(float(out["lr"][0].sum()) * 64 - float(d.sum())) < 1e-2
