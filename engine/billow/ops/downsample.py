"""The low-res derivation of the training data (dissertation Sec. 3.4.1, App. A.2; the
reference data generator): Gaussian blur with sigma = factor / (2 sqrt(pi)) high-res cells,
then linear interpolation at the low-res cell centres.

Low-res cell i covers high-res cells [f i, f i + f - 1], so its centre sits at high-res index
`f i + (f - 1) / 2` (the same placement as `billow.upres_matrix`). The metrics use this same
filter to check that an upres is faithful to its input.
"""

from __future__ import annotations

import math

import numpy as np

import torch
import torch.nn.functional as F


def blur_sigma(factor: int) -> float:
    return factor / (2.0 * math.sqrt(math.pi))


def _radius(sigma: float) -> int:
    return max(1, math.ceil(3.0 * sigma))


def blur_radius(factor: int) -> int:
    """Cells on each side that the blur of `downsample(x, factor)` reads."""
    return _radius(blur_sigma(factor))


def _gaussian_kernel(sigma: float, dtype, device) -> torch.Tensor:
    radius = _radius(sigma)
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def pad_axis(y: torch.Tensor, axis: int, r: int) -> torch.Tensor:
    """`y` `(N, C, *S)` replicate-padded by `r` cells at both ends of spatial axis `axis` (the
    one place that turns an axis into F.pad's last-axis-first list)."""
    dims = y.dim() - 2
    pad = [0, 0] * dims
    pad[2 * (dims - 1 - axis)] = pad[2 * (dims - 1 - axis) + 1] = r
    return F.pad(y, pad, mode="replicate")


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of `(N, C, *S)`, replicate padding (fields continue at borders).

    Each axis is a sum of shifted copies times the kernel weights (multiply, then add, in
    kernel order): 3.5-5x faster on a CPU than single-channel convolutions, which run at a
    fraction of a GMAC/s (`python benchmarks/bench_blur.py`). Where PyTorch's CPU convolution
    runs its direct kernel (one field, N * C == 1, up to at least 129^3 voxels, and the 2D
    fields tested) the result is bit-identical to `F.conv3d` / `F.conv2d` with the same kernel:
    both multiply, round, then add in kernel order. On batched fields and on large volumes
    (160^3 and up) the convolution itself switches to blocked GEMM / oneDNN kernels with fused
    multiply-adds, and the two differ by at most 2 float32 ulps of the values (1.8e-7 on
    unit-range data); the previous result then depended on the volume's size, this one does
    not."""
    dims = x.dim() - 2
    w = _gaussian_kernel(sigma, x.dtype, x.device).tolist()
    r = (len(w) - 1) // 2
    y = x
    for axis in range(dims):
        d = 2 + axis
        n = y.shape[d]
        p = pad_axis(y, axis, r)
        if torch.is_grad_enabled() and y.requires_grad:  # out-of-place sums, same rounding
            out = p.narrow(d, 0, n) * w[0]
            for j in range(1, len(w)):
                out = out + p.narrow(d, j, n) * w[j]
        else:
            out = torch.mul(p.narrow(d, 0, n), w[0])
            tmp = torch.empty_like(out)
            for j in range(1, len(w)):
                out.add_(torch.mul(p.narrow(d, j, n), w[j], out=tmp))
        y = out
    return y


def downsample(x: torch.Tensor, factor: int, *, blur: bool = True) -> torch.Tensor:
    """`(N, C, *S)` high-res -> `(N, C, *S / factor)` low-res; S must be divisible by factor."""
    spatial = x.shape[2:]
    if any(n % factor for n in spatial):
        raise ValueError(f"downsample: size {tuple(spatial)} is not divisible by {factor}")
    if blur:
        x = gaussian_blur(x, blur_sigma(factor))
    low = [n // factor for n in spatial]
    # high-res index of each low-res centre, normalised for align_corners=True
    coords = [(torch.arange(m, dtype=x.dtype, device=x.device) * factor + (factor - 1) / 2)
              * 2.0 / max(n - 1, 1) - 1.0 for m, n in zip(low, spatial)]
    grid = torch.stack(torch.meshgrid(*coords, indexing="ij")[::-1], dim=-1)
    grid = grid.unsqueeze(0).expand(x.shape[0], *grid.shape)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def downsample_velocity(v: torch.Tensor, factor: int) -> torch.Tensor:
    """High-res velocity in high-res cells per frame -> low-res velocity in low-res cells/frame."""
    return downsample(v, factor) / factor


def _source_positions(n: int, factor: int) -> torch.Tensor:
    """High-res position of every low-res centre along an axis of `n` cells, computed as
    `downsample` and `F.grid_sample` compute it (float32, normalised for align_corners=True
    and back, clamped for border padding), rounding included."""
    m = n // factor
    c = (torch.arange(m, dtype=torch.float32) * factor + (factor - 1) / 2) * 2.0 \
        / max(n - 1, 1) - 1.0
    return (((c + 1) / 2) * (n - 1)).clamp(0, n - 1)


def downsample_region(read, shape: tuple[int, int, int], factor: int,
                      lo: tuple[int, ...], hi: tuple[int, ...]) -> torch.Tensor:
    """`downsample(x, factor)[0, 0, lo:hi]` of a 3D field `x` of `shape` that is never held
    whole: `read(lo, hi)` returns `x[lo:hi]` (a float32 array) for the few high-res cells the
    window needs (its taps plus the blur's radius; the blur's replicate padding applies only at
    `shape`'s own borders). Bit-identical to the whole-field result: the blur is the same
    element-wise sums over real neighbours, and the trilinear sample repeats grid_sample's
    arithmetic (per-axis weights from the same float32 positions, the weight products and the
    8 corner terms in its order), which depends on the whole field's size, not the window's."""
    if any(n % factor for n in shape):
        raise ValueError(f"downsample: size {tuple(shape)} is not divisible by {factor}")
    r = blur_radius(factor)
    taps, weights, src_lo, src_hi = [], [], [], []
    for n, a, b in zip(shape, lo, hi):
        ix = _source_positions(n, factor)[a:b]
        i0 = torch.floor(ix)
        i1 = i0 + 1
        weights.append((i1 - ix, ix - i0))
        i0, i1 = i0.long(), i1.long().clamp(max=n - 1)  # a tap past the end has weight 0
        t0, t1 = int(i0[0]), int(i1[-1]) + 1
        c0, c1 = max(t0 - r, 0), min(t1 + r, n)
        src_lo.append(c0)
        src_hi.append(c1)
        taps.append((i0 - c0, i1 - c0))
    raw = torch.from_numpy(np.ascontiguousarray(read(tuple(src_lo), tuple(src_hi))))
    blurred = gaussian_blur(raw[None, None], blur_sigma(factor))[0, 0]
    out = torch.zeros(tuple(b - a for a, b in zip(lo, hi)), dtype=torch.float32)
    # grid_sample's corner order: z (axis 0) outermost, then y, then x; weight x * y * z
    for kz in (0, 1):
        for ky in (0, 1):
            for kx in (0, 1):
                w = (weights[2][kx][None, None, :] * weights[1][ky][None, :, None]) \
                    * weights[0][kz][:, None, None]
                corner = blurred[taps[0][kz]][:, taps[1][ky]][:, :, taps[2][kx]]
                out = out + corner * w
    return out
