"""`interpolate_smooth`: linear up-sampling then a binomial blur, the gain form's base
(`--base-interpolation smooth`, x4) and the generator's tail (`--tail-upsampling smooth`,
x2): positive, mass-keeping, exact on ramps, and without the linear kernel's kink at every cell
centre."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from billow.ops import interpolate_linear, interpolate_smooth
from billow.ops.downsample import pad_axis
from billow.ops.upsample import smooth_taps


def _linear_then_blur(x, factor):
    """The definition, as written: linear up-sampling, then the binomial taps as a
    replicate-padded convolution per fine axis."""
    y = interpolate_linear(x, factor)
    dims = x.dim() - 2
    taps = torch.tensor(smooth_taps(factor), dtype=y.dtype)
    n, c = y.shape[:2]
    y = y.reshape(n * c, 1, *y.shape[2:])
    for axis in range(dims):
        shape = [1, 1] + [1] * dims
        shape[2 + axis] = len(taps)
        y = (F.conv2d if dims == 2 else F.conv3d)(pad_axis(y, axis, factor // 2),
                                                   (taps / taps.sum()).reshape(shape))
    return y.reshape(n, c, *y.shape[2:])


@pytest.mark.parametrize("dim, factor", [(2, 4), (3, 4), (3, 2), (2, 2)])
def test_equals_linear_then_binomial_blur(dim, factor):
    """The per-phase low-res form (fast on a CPU) is the composite it stands for, and
    `pad=False` is its interior (the border cell of each side used up)."""
    x = torch.rand((2, 3) + (9, 8, 7)[:dim], dtype=torch.float64,
                   generator=torch.Generator().manual_seed(3))
    want = _linear_then_blur(x, factor)
    torch.testing.assert_close(interpolate_smooth(x, factor), want, rtol=0, atol=1e-12)
    inside = (slice(None), slice(None)) + (slice(factor, -factor),) * dim
    torch.testing.assert_close(interpolate_smooth(x, factor, pad=False), want[inside], rtol=0,
                               atol=1e-12)


@pytest.mark.parametrize("dim, factor", [(2, 4), (3, 4), (3, 2)])
def test_positive_mass_keeping_and_exact_on_ramps(dim, factor):
    g = torch.Generator().manual_seed(0)
    n = (12, 10, 9)[:dim]
    x = torch.rand((2, 1) + n, generator=g) ** 3
    y = interpolate_smooth(x, factor)
    assert y.shape == (2, 1) + tuple(factor * s for s in n)
    assert float(y.min()) >= 0
    # smoke away from the walls keeps its mass exactly (the taps sum to 1)
    inner = torch.zeros_like(x)
    core = (slice(None), slice(None)) + tuple(slice(2, s - 2) for s in n)
    inner[core] = x[core]
    torch.testing.assert_close(interpolate_smooth(inner, factor).sum(),
                               factor ** dim * inner.sum())
    # a ramp is reproduced inside (linear up-sampling is exact on it, the blur symmetric)
    ramp = torch.arange(n[0], dtype=torch.float32).reshape((1, 1, n[0]) + (1,) * (dim - 1))
    ramp = ramp.expand((1, 1) + n).contiguous()
    fine = interpolate_smooth(ramp, factor)[(0, 0, slice(2 * factor, -2 * factor))]
    want = interpolate_linear(ramp, factor)[(0, 0, slice(2 * factor, -2 * factor))]
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


def test_x2_removes_the_period_two_image():
    """At x2 (the generator's tail) every fine voxel is next to a kink, so the pattern shows in
    the spectrum instead: the up-sampling's image near the fine grid's Nyquist frequency (a
    period-2 pattern, which two x2 stages compound into the 4-voxel lattice). The [1, 2, 1]
    blur is zero there."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand((1, 1, 64, 3), generator=g)

    def near_nyquist_share(y):
        y = y[0, 0, 8:-8, 3]  # inside, windowed: no leakage from the ends
        y = (y - y.mean()) * torch.hann_window(len(y), periodic=False)
        power = torch.fft.rfft(y).abs() ** 2
        return float(power[torch.fft.rfftfreq(len(y)) >= 0.375].sum() / power.sum())

    linear = near_nyquist_share(interpolate_linear(x, 2))
    assert linear > 1e-4  # the check sees the image
    assert near_nyquist_share(interpolate_smooth(x, 2)) < linear / 10  # 0.026 x measured
