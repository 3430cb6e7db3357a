"""`phase_notch` (`--lattice-notch`): divides out a slowly varying per-phase factor of the
output relative to the base, the 4-voxel lattice, and leaves phase-independent output alone."""

from __future__ import annotations

import pytest
import torch
from billow.metrics.artefacts import lattice_measure
from billow.ops import interpolate_smooth
from billow.ops.dephase import from_phases, phase_notch, to_phases


def _base(dim: int, n: int, seed: int = 0) -> torch.Tensor:
    """A positive smooth x4 field: the kind of base the notch divides by."""
    g = torch.Generator().manual_seed(seed)
    low = 0.2 + torch.rand(1, 1, *([n] * dim), generator=g, dtype=torch.float64)
    return interpolate_smooth(low, 4)


def _lattice(dim: int, n: int, amp: float, seed: int = 1) -> torch.Tensor:
    """1 + a fixed per-phase offset of amplitude `amp`, tiled over n^D cells."""
    g = torch.Generator().manual_seed(seed)
    a = amp * (torch.rand(1, 4 ** dim, *([1] * dim), generator=g, dtype=torch.float64) - 0.5)
    return 1 + from_phases(a.expand(1, 4 ** dim, *([n] * dim)), 4)


@pytest.mark.parametrize("dim", [2, 3])
def test_phases_round_trip_and_hold_strided_voxels(dim):
    y = torch.rand(2, 1, *([8] * dim))
    p = to_phases(y, 4)
    assert p.shape == (2, 4 ** dim, *([2] * dim))
    torch.testing.assert_close(from_phases(p, 4), y, rtol=0, atol=0)
    # phase (1, 2[, 3]) is channel 1 * 16 + 2 * 4 + 3 in row-major order
    phase = (1, 2, 3)[:dim]
    channel = sum(i * 4 ** (dim - 1 - a) for a, i in enumerate(phase))
    strided = y[(slice(None), 0) + tuple(slice(i, None, 4) for i in phase)]
    torch.testing.assert_close(p[:, channel], strided, rtol=0, atol=0)


@pytest.mark.parametrize("dim", [2, 3])
def test_a_per_phase_factor_is_removed_exactly(dim):
    """y = base x (1 + a_p): the output is base times one constant, with no lattice left."""
    base = _base(dim, 6)
    y = base * _lattice(dim, 6, 0.4)
    out = phase_notch(y, base, 4)
    ratio = out / base
    assert float(ratio.std() / ratio.mean()) < 1e-12
    assert lattice_measure(y[0, 0]) > 50  # the check sees the pattern it removes


@pytest.mark.parametrize("dim", [2, 3])
def test_phase_independent_output_passes_unchanged(dim):
    """A constant gain over any positive base (the base's own ramps differ between phases)."""
    base = _base(dim, 6, seed=2)
    torch.testing.assert_close(phase_notch(1.7 * base, base, 4), 1.7 * base, rtol=1e-12,
                               atol=0)


@pytest.mark.parametrize("dim", [2, 3])
def test_equivariant_to_amplitude_and_positive(dim):
    base = _base(dim, 5, seed=3)
    g = torch.Generator().manual_seed(4)
    y = base * torch.exp(0.5 * torch.randn(base.shape, generator=g, dtype=torch.float64))
    out = phase_notch(y, base, 4)
    assert float(out.min()) > 0
    for k in (0.1, 10.0):
        torch.testing.assert_close(phase_notch(k * y, base, 4), k * out, rtol=1e-12, atol=0)
        torch.testing.assert_close(phase_notch(y, k * base, 4), out, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dim", [2, 3])
def test_core_only_form_equals_the_middle_of_the_whole_field(dim):
    """pad=False uses up one low-res cell of margin: what a tile's halo pays for it."""
    base = _base(dim, 7, seed=5)
    g = torch.Generator().manual_seed(6)
    y = base * torch.exp(0.3 * torch.randn(base.shape, generator=g, dtype=torch.float64))
    whole = phase_notch(y, base, 4)[(slice(None), slice(None)) + (slice(4, -4),) * dim]
    torch.testing.assert_close(phase_notch(y, base, 4, pad=False), whole, rtol=1e-12, atol=0)


def test_detail_that_is_not_phase_locked_survives():
    """White detail keeps its energy: each cell's level comes from its neighbours only, so it
    does not follow the cell's own detail (with the centre tap in, 1 - 2/8 + (3/8)^3 = 0.80 of
    it stayed); while a lattice added to the same detail goes."""
    g = torch.Generator().manual_seed(8)
    base = torch.ones(1, 1, 48, 48, 48, dtype=torch.float64)
    detail = 0.05 * torch.randn(base.shape, generator=g, dtype=torch.float64)
    y = base * (1 + detail)
    kept = float((phase_notch(y, base, 4) - 1).pow(2).sum() / detail.pow(2).sum())
    assert 0.95 < kept < 1.05
    latticed = y * _lattice(3, 12, 0.2)
    assert lattice_measure(latticed[0, 0]) > 10
    assert lattice_measure(phase_notch(latticed, base, 4)[0, 0]) < 1.0


def test_half_precision_runs_in_float32_and_comes_back_in_kind():
    """The bf16 backend (`billow upres --precision bf16`) passes bf16 fields: CPU pooling has
    no bf16 kernel, and the levels' ratios want float32 anyway."""
    base = _base(3, 4).float()
    y = base * _lattice(3, 4, 0.3).float()
    out = phase_notch(y.bfloat16(), base.bfloat16(), 4)
    assert out.dtype == torch.bfloat16
    ref = phase_notch(y.bfloat16().float(), base.bfloat16().float(), 4)
    torch.testing.assert_close(out.float(), ref, rtol=1e-2, atol=0)
