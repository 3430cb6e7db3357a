"""The out-of-family failure-mode measures (billow.metrics.artefacts) on synthetic fields."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from billow.metrics import (brightness, brightness_ratio, equivariance, high_band_energy,
                            lattice_measure)
from billow.metrics.artefacts import lattice_bins, lattice_pattern
from billow.ops import gaussian_blur

from .conftest import band_noise, gaussian_blob


def smoke_like(n=32, seed=0) -> torch.Tensor:
    """A soft blob carrying fine detail: a smooth spectrum, no preferred period."""
    blob = gaussian_blob((n, n, n), (n / 2, n / 2.5, n / 2), n / 5)
    return (blob * (1.0 + 0.5 * band_noise((n, n, n), seed))).clamp(min=0)


def test_lattice_bins_cover_the_period_4_lattice():
    bins = lattice_bins((16, 8, 12))
    assert len(bins) == 63 and (0, 0, 0) not in bins
    assert (4, 0, 0) in bins and (8, 6, 9) in bins
    with pytest.raises(ValueError):
        lattice_bins((10, 8, 8))


def test_lattice_measure_is_about_one_for_smooth_smoke():
    for seed in range(3):
        assert 0.6 < lattice_measure(smoke_like(seed=seed)) < 1.6
    g = torch.Generator().manual_seed(1)
    noise = gaussian_blur(torch.randn(1, 1, 32, 32, 32, generator=g), 1.0)[0, 0]
    assert 0.6 < lattice_measure(noise) < 1.6


def test_lattice_measure_ignores_flat_faces():
    """A block of smoke with sharp flat faces (its edge spectrum lies on the k-space axes) is
    natural smoke, not a lattice."""
    n = 32
    block = torch.zeros(n, n, n)
    block[5:27, 3:19, 6:26] = 0.8
    block = gaussian_blur(block[None, None], 0.7)[0, 0] * (1.0 + 0.3 * band_noise((n, n, n), 5))
    m = lattice_measure(block)
    assert m < 1.8  # not flagged (a perfect box's sinc ripples can put its bins below 1)
    lattice = 0.2 * torch.from_numpy(lattice_pattern(block.shape)) * (block > 0.1)
    assert lattice_measure(block + lattice) > 3.0


def test_lattice_measure_flags_an_injected_period_4_pattern():
    y = smoke_like()
    base = lattice_measure(y)
    faint = y + 0.02 * float(y.std()) * torch.from_numpy(lattice_pattern(y.shape)) * (y > 0.05)
    strong = y + 0.2 * float(y.std()) * torch.from_numpy(lattice_pattern(y.shape)) * (y > 0.05)
    m_faint, m_strong = lattice_measure(faint), lattice_measure(strong)
    assert m_faint > 1.5 * base
    assert m_strong > 10.0 and m_strong > m_faint
    # a single off-lattice wave (6 cycles over 32 voxels) of the same strength is not flagged
    wave = torch.sin(2 * math.pi * 6 * torch.arange(32) / 32).reshape(32, 1, 1).expand(32, 32, 32)
    assert lattice_measure(y + 0.2 * float(y.std()) * wave * (y > 0.05)) < 2.0
    assert math.isnan(lattice_measure(torch.zeros(8, 8, 8)))


def test_the_interior_lattice_measure_leaves_out_the_domain_walls():
    """`shell`: a period-4 pattern in the outermost 4 voxels only (what an upsampler's last
    cell at a domain wall can carry) is flagged by the whole-domain measure, not by the
    interior one; the same pattern inside the smoke is flagged by both."""
    y = smoke_like() + 0.05
    pattern = 0.3 * float(y.std()) * torch.from_numpy(lattice_pattern(y.shape))
    wall = torch.ones_like(y)
    wall[4:-4, 4:-4, 4:-4] = 0
    walled = y + pattern * wall
    assert lattice_measure(walled) > 2.0 * lattice_measure(y)
    assert lattice_measure(walled, shell=4) == pytest.approx(lattice_measure(y, shell=4))
    inside = y + pattern * (1 - wall)
    assert lattice_measure(inside, shell=4) > 3.0 * lattice_measure(y, shell=4)


def test_high_band_energy_grows_with_added_detail():
    y = smoke_like()
    smooth = gaussian_blur(y[None, None], 2.0)[0, 0]
    assert high_band_energy(smooth, 4) < 0.2 * high_band_energy(y, 4)
    assert high_band_energy(2 * y, 4) == pytest.approx(4 * high_band_energy(y, 4), rel=1e-4)


def test_brightness_ratio_identity_and_monotone():
    x = smoke_like(16, seed=2)
    up = x.repeat_interleave(4, 0).repeat_interleave(4, 1).repeat_interleave(4, 2)
    assert brightness_ratio(up, x, 4, 1.0 / 16) == pytest.approx(1.0, rel=1e-6)
    assert brightness(x, 1 / 16) == pytest.approx(brightness(x.numpy(), 1 / 16))
    ratios = [brightness_ratio(s * up, x, 4, 1.0 / 16) for s in (0.5, 0.8, 1.0, 1.25, 2.0)]
    assert all(a < b for a, b in zip(ratios, ratios[1:]))
    assert ratios[2] == pytest.approx(1.0, rel=1e-6)
    # the same column seen along each axis is consistent; empty input gives nan
    assert 0.0 < brightness(x, 1 / 16, axis="y") < 1.0
    assert math.isnan(brightness_ratio(up, torch.zeros_like(x), 4, 1.0 / 16))


def test_equivariance_helper():
    y = smoke_like(16, seed=4)
    for k in (0.1, 10.0):
        e = equivariance(y, k * y, k)
        assert e["rel_l1"] == pytest.approx(0.0, abs=1e-6)
        assert e["mass_ratio"] == pytest.approx(1.0, rel=1e-6)
    # an upres that saturates at 1 is not equivariant for k = 10
    e = equivariance(y, (10 * y).clamp(max=1.0), 10.0)
    assert e["rel_l1"] > 0.1 and e["mass_ratio"] < 0.9
    # one that adds a fixed detail amplitude is not equivariant for k = 0.1
    detail = 0.05 * band_noise(tuple(y.shape), 9)
    e = equivariance(y + detail, 0.1 * y + detail, 0.1)
    assert e["rel_l1"] > 0.3
    with pytest.raises(ValueError):
        equivariance(y, y[:8], 1.0)
    assert np.isfinite(equivariance(y.numpy(), y.numpy(), 1.0)["rel_l1"])
