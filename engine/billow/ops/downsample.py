"""The low-res derivation of the training data (dissertation Sec. 3.4.1, App. A.2; the
reference data generator): Gaussian blur with sigma = factor / (2 sqrt(pi)) high-res cells,
then linear interpolation at the low-res cell centres.

Low-res cell i covers high-res cells [f i, f i + f - 1], so its centre sits at high-res index
`f i + (f - 1) / 2` (the same placement as `billow.upres_matrix`). The metrics use this same
filter to check that an upres is faithful to its input.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def blur_sigma(factor: int) -> float:
    return factor / (2.0 * math.sqrt(math.pi))


def _gaussian_kernel(sigma: float, dtype, device) -> torch.Tensor:
    radius = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


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
        pad = [0, 0] * dims
        pad[2 * (dims - 1 - axis)] = r  # F.pad lists the last axis first
        pad[2 * (dims - 1 - axis) + 1] = r
        p = F.pad(y, pad, mode="replicate")
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
