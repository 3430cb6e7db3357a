"""`interpolate_smooth`: linear up-sampling then a 5-tap binomial blur, the gain form's base
(`--base-interpolation smooth`): positive, mass-keeping, exact on ramps, and without the
linear kernel's kink at every cell centre."""

from __future__ import annotations

import pytest
import torch
from billow.ops import interpolate_linear, interpolate_smooth


@pytest.mark.parametrize("dim", [2, 3])
def test_positive_mass_keeping_and_exact_on_ramps(dim):
    g = torch.Generator().manual_seed(0)
    n = (12, 10, 9)[:dim]
    x = torch.rand((2, 1) + n, generator=g) ** 3
    y = interpolate_smooth(x, 4)
    assert y.shape == (2, 1) + tuple(4 * s for s in n)
    assert float(y.min()) >= 0
    # smoke away from the walls keeps its mass exactly (the taps sum to 1)
    inner = torch.zeros_like(x)
    core = (slice(None), slice(None)) + tuple(slice(2, s - 2) for s in n)
    inner[core] = x[core]
    torch.testing.assert_close(interpolate_smooth(inner, 4).sum(), 4 ** dim * inner.sum())
    # a ramp is reproduced inside (linear up-sampling is exact on it, the blur symmetric)
    ramp = torch.arange(n[0], dtype=torch.float32).reshape((1, 1, n[0]) + (1,) * (dim - 1))
    ramp = ramp.expand((1, 1) + n).contiguous()
    fine = interpolate_smooth(ramp, 4)[(0, 0, slice(8, -8))]
    want = interpolate_linear(ramp, 4)[(0, 0, slice(8, -8))]
    torch.testing.assert_close(fine, want)


def test_no_kink_at_the_cell_centres():
    """Linear up-sampling bends only at the cell centres, so its second difference sits on
    two of every four fine voxels; the smooth kernel spreads it over all four phases."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand((1, 1, 40, 3), generator=g)

    def share_on_top_two_phases(y):
        d2 = (y[0, 0, 2:, 5] - 2 * y[0, 0, 1:-1, 5] + y[0, 0, :-2, 5]).abs()[8:-8]
        phase = torch.stack([d2[i::4].sum() for i in range(4)])
        return float(phase.sort(descending=True).values[:2].sum() / phase.sum())

    assert share_on_top_two_phases(interpolate_linear(x, 4)) > 0.99  # the check sees kinks
    assert share_on_top_two_phases(interpolate_smooth(x, 4)) < 0.75
