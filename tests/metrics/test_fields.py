"""Reference and input fidelity on analytic fields."""

from __future__ import annotations

import math

import torch

from billow.baselines import upsample
from billow.metrics import input_fidelity, l1, mass_ratio, psnr
from billow.ops import downsample

from .conftest import gaussian_blob


def test_l1_and_psnr():
    a = torch.zeros(8, 8, 8)
    b = torch.full((8, 8, 8), 0.5)
    assert l1(a, b) == 0.5
    assert psnr(b, b) == math.inf
    assert abs(psnr(a, b) - 10 * math.log10(0.25 / 0.25)) < 1e-9  # peak 0.5, mse 0.25
    assert abs(psnr(a, b, data_range=1.0) - 10 * math.log10(4.0)) < 1e-6


def test_trilinear_upsample_downsampled_reproduces_the_field():
    """A 4x trilinear upres, downsampled with the training filter, gives the input back: as
    closely as the true fine field does (the filter's blur of a smooth field is all that is
    left)."""
    centre, radius = (7.3, 8.1, 6.6), 4.0
    x = gaussian_blob((16, 16, 16), centre, radius)
    y = upsample(x, 4, "trilinear")
    assert y.shape == (64, 64, 64)
    assert input_fidelity(y, x, 4) < 0.02
    assert abs(mass_ratio(y, x, 4) - 1.0) < 1e-3
    # exactly for a linear ramp (trilinear and the blur both keep it) away from the borders
    ramp = torch.arange(16.0)[:, None, None] * 0.5 + torch.arange(16.0)[None, :, None] * 0.25 \
        + torch.arange(16.0)[None, None, :] + 1.0
    back = downsample(upsample(ramp, 4, "trilinear")[None, None], 4)[0, 0]
    assert torch.allclose(back[3:-3, 3:-3, 3:-3], ramp[3:-3, 3:-3, 3:-3], atol=1e-4)


def test_input_fidelity_catches_a_wrong_upres():
    x = gaussian_blob((16, 16), (7.0, 8.0), 3.0)
    good = upsample(x, 4, "tricubic")
    shifted = torch.roll(good, 4, dims=0)  # one input cell off
    assert input_fidelity(good, x, 4) < 0.02
    assert input_fidelity(shifted, x, 4) > 5 * input_fidelity(good, x, 4)
    assert abs(mass_ratio(0.5 * good, x, 4) - 0.5) < 1e-3
