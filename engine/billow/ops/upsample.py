"""Upsampling by an integer factor with the output placed exactly over the input.

Output voxel o along an axis sits at input index p = (o + 1/2) / f - 1/2 (the placement of
`billow.upres_matrix`). Methods: nearest, trilinear (linear per axis) and tricubic
(Catmull-Rom, Keys a = -1/2: interpolating, exact for quadratics, may overshoot slightly).
Indices past the border are clamped (fields continue at the boundary).

Two implementations of the same placement, kept apart on purpose:

- `upsample` (and `upsample_velocity`): separable index arithmetic with float64 positions,
  any method; used by inference, the baselines and the metrics.
- `interpolate_linear`, `interpolate_nearest` (and `interpolate_velocity`):
  `torch.nn.functional.interpolate`, which the networks use because it exports to one ONNX
  Resize node. Torch computes its source positions in float32, so the linear one differs from
  `upsample(..., "trilinear")` by up to 2 ulp (measured 1.8e-7 on values in [0, 1]);
  merging them would change either the trained networks' outputs or every other result.
  Nearest is bit-identical, and shares the name only for symmetry with the linear one.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from .downsample import pad_axis

METHODS = ("nearest", "trilinear", "tricubic")


def _positions(n: int, factor: int, device) -> torch.Tensor:
    o = torch.arange(n * factor, device=device, dtype=torch.float64)
    return (o + 0.5) / factor - 0.5


def _catmull_rom(t: torch.Tensor) -> torch.Tensor:
    """Weights of the 4 taps at offsets -1, 0, 1, 2 for fractional positions t in [0, 1)."""
    t2, t3 = t * t, t * t * t
    return torch.stack([
        -0.5 * t3 + t2 - 0.5 * t,
        1.5 * t3 - 2.5 * t2 + 1.0,
        -1.5 * t3 + 2.0 * t2 + 0.5 * t,
        0.5 * t3 - 0.5 * t2,
    ])


def _along_axis(x: torch.Tensor, axis: int, factor: int, method: str) -> torch.Tensor:
    n = x.shape[axis]
    p = _positions(n, factor, x.device)
    if method == "nearest":
        return x.index_select(axis, torch.round(p).clamp(0, n - 1).long())
    base = torch.floor(p)
    t = (p - base).to(x.dtype)
    base = base.long()
    if method == "trilinear":
        taps, weights = [base, base + 1], torch.stack([1 - t, t])
    else:
        taps, weights = [base + k for k in (-1, 0, 1, 2)], _catmull_rom(t)
    shape = [1] * x.dim()
    shape[axis] = -1
    out = 0
    for tap, w in zip(taps, weights):
        out = out + x.index_select(axis, tap.clamp(0, n - 1)) * w.reshape(shape)
    return out


def upsample(x: torch.Tensor, factor: int, method: str = "trilinear") -> torch.Tensor:
    """`(N, C, *S)` -> `(N, C, *(S * factor))`, separably along each spatial axis."""
    if method not in METHODS:
        raise ValueError(f"upsample: method must be one of {METHODS}, got '{method}'")
    for axis in range(2, x.dim()):
        x = _along_axis(x, axis, factor, method)
    return x


def upsample_velocity(v, factor: int, method: str = "trilinear") -> torch.Tensor:
    """A low-res velocity block `[D, x, y(, z)]` (tensor or array) in low-res cells per frame ->
    `[D, *(S * factor)]` float32 in high-res cells per frame."""
    v = torch.as_tensor(v, dtype=torch.float32)
    return upsample(v[None], int(factor), method)[0] * factor


def interpolate_linear(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Cell-centred (bi/tri)linear up-sampling of `(N, C, *S)` inside a network: high-res cell j
    samples the low-res field at (j + 0.5) / f - 0.5 (border values clamp)."""
    mode = "bilinear" if x.dim() == 4 else "trilinear"
    return F.interpolate(x, scale_factor=factor, mode=mode, align_corners=False)


def smooth_taps(factor: int) -> tuple[float, ...]:
    """interpolate_smooth's blur after the linear up-sampling x `factor`: binomial taps of
    length factor + 1 ([1, 4, 6, 4, 1] at x4, [1, 2, 1] at x2), on each fine axis. Positive, so
    the result stays positive; as wide as one low-res cell, so it spreads each cell centre's
    kink over every phase."""
    return tuple(float(math.comb(factor, k)) for k in range(factor + 1))


@functools.cache
def _smooth_phase_kernel(factor: int) -> tuple[tuple[float, ...], ...]:
    """`[factor][3]`: the weights of `interpolate_smooth`'s output phase j over input offsets
    -1, 0, 1 (the linear up-sampling's tent, max(0, 1 - |p - o|) at fine position p, summed
    under the binomial taps: the blur reaches half a cell, so one cell on each side is enough)."""
    taps = smooth_taps(factor)
    r = len(taps) // 2
    return tuple(tuple(sum(b * max(0.0, 1.0 - abs((j + t - r + 0.5) / factor - 0.5 - o))
                           for t, b in enumerate(taps)) / sum(taps) for o in (-1, 0, 1))
                 for j in range(factor))


def _phase_stencil(x: torch.Tensor, kern, pad: bool) -> torch.Tensor:
    """Up-sampling of `(N, C, *S)` by `len(kern)` per axis: output phase j of low-res cell i is
    sum_o kern[j][o] x[i + o - r] (r = len(kern[0]) // 2), then the phases are interleaved
    (phase j of cell i -> fine cell factor * i + j). Each axis is shifted copies times the
    weights, not single-channel convolutions, which run at a fraction of a GMAC/s on a CPU
    (as in `gaussian_blur`); plain slices, multiply-adds and a reshape export to ONNX.
    `pad`: replicate-pad r cells first; else r cells of each side are used up."""
    factor, r = len(kern), len(kern[0]) // 2
    y = x if x.is_floating_point() else x.float()
    for axis in range(y.dim() - 2):
        a = 2 + axis
        if pad:
            y = pad_axis(y, axis, r)
        n = y.shape[a] - 2 * r
        shifted = [y.narrow(a, k, n) for k in range(2 * r + 1)]
        phases = [sum(w * t for w, t in zip(row, shifted) if w != 0.0) for row in kern]
        y = torch.stack(phases, a + 1)
        shape = list(y.shape)
        y = y.reshape(shape[:a] + [n * factor] + shape[a + 2:])
    return y


def interpolate_smooth(x: torch.Tensor, factor: int, pad: bool = True) -> torch.Tensor:
    """`interpolate_linear` followed by a binomial blur (`smooth_taps`) along each fine axis
    (replicate padding, which equals the linear up-sampling's clamped border). Why: linear
    up-sampling has a kink at every low-res cell centre, so a product with it (the gain form's
    base x gain, its multiplicative projection) repeats every `factor` voxels; the lattice
    measure of the s26 network's base x gain on an out-of-family dense frame fell from 5.5 to
    1.3 with this base (session 16, `benchmarks/lattice_stages.py`), and the convolutions
    after the network's own x2 up-samplings turn their kinks into the same pattern (session 17,
    `--tail-upsampling smooth`). Positive weights keep it positive (unlike Catmull-Rom) and
    summing to 1 keeps the mass away from the border; its reach stays one low-res cell.

    Computed as the composite's `factor` phases on the low-res grid (`_phase_stencil`, 3
    shifted copies per phase): 10-24x faster forward and backward on a CPU than the linear
    up-sampling plus single-channel blur convolutions (`benchmarks/bench_interpolate_smooth.py`;
    as convolutions the smooth tail cost 5x the generator's training pass). `pad=False`: no
    replicate pad, so the border cell of each side is used up (`factor` fine cells fewer on
    each side: the cells whose every tap reads real input)."""
    return _phase_stencil(x, _smooth_phase_kernel(factor), pad)


@functools.cache
def _cubic_phase_kernel(factor: int) -> tuple[tuple[float, ...], ...]:
    """`[factor][5]`: the Catmull-Rom weights of output phase j (position offset
    (j + 1/2) / f - 1/2 from its cell's centre) over input offsets -2 .. 2."""
    k = torch.zeros(factor, 5, dtype=torch.float64)
    for j in range(factor):
        d = (j + 0.5) / factor - 0.5
        lo = -1 if d < 0 else 0  # floor of the position, relative to the cell
        w = _catmull_rom(torch.tensor([d - lo], dtype=torch.float64))[:, 0]
        for tap, wt in zip(range(lo - 1, lo + 3), w):
            k[j, tap + 2] = wt
    return tuple(tuple(row) for row in k.tolist())


def interpolate_cubic(x: torch.Tensor, factor: int, pad: bool = True) -> torch.Tensor:
    """`upsample(x, factor, "tricubic")` inside a network, from ops that export to ONNX (a
    replicate pad and the 5-tap phases of each axis, `_phase_stencil`). `pad=False` keeps only
    the cells whose taps are all inside `x` (the core-only form: 2 cells fewer on each side,
    before up-sampling). Equal to `upsample` up to float32 rounding (the weights are rounded
    once, not per position)."""
    return _phase_stencil(x, _cubic_phase_kernel(factor), pad)


def interpolate_nearest(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Low-res cell i -> high-res cells [f i, f i + f - 1] (App. A.1 'NI'), inside a network."""
    return F.interpolate(x, scale_factor=factor, mode="nearest")


def interpolate_velocity(v: torch.Tensor, factor: int) -> torch.Tensor:
    """`upsample_velocity` inside a network (`interpolate_linear`): low-res velocity
    `(N, D, *S)` in low-res cells per frame -> high-res cells per frame."""
    return interpolate_linear(v, factor) * factor
