"""Synthetic temporal triplets for the temporal adversarial loss (Eq. 5.15).

Ground truth over time does not exist (P^f is relocated frame by frame), so D_t's "real"
triplets are made from one frame: pick a random small geometric transformation f of the image
plane (rotation, scaling, translation about the crop centre) and form
`(P_{t-1}^f, f(P_{t-1}^f), f(f(P_{t-1}^f)))` -- a UV map moving rigidly and smoothly. f o f is
applied as one resampling of the original (its matrix squared), so the third frame is not
blurred twice.

Resampling a UV map: bilinear, normalised by the resampled mask, except where the four source
pixels straddle a seam between atlas parts (the bilinear mean of two parts' UVs lies in
neither); there the nearest pixel is used. The mask is resampled bilinearly and thresholded
at 0.5.

Input `(N, 3, H, W)` = (u, v, mask) with a margin around the wanted crop (so content moves in
from outside instead of from the zero border); output `(N, 3 frames, 3, h, w)` centre crops.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SEAM_JUMP = 0.05  # |bilinear - nearest| above this in u or v: the pixel straddles a seam


def random_transforms(n: int, gen: torch.Generator, max_shift: float = 1.5,
                      max_rotation: float = 3.0, max_scale: float = 0.03,
                      size: int = 32) -> torch.Tensor:
    """(n, 2, 3) affine matrices of f in normalised coordinates of a `size` pixel crop:
    shifts up to `max_shift` pixels, rotations up to `max_rotation` degrees, scalings up to
    1 +- `max_scale`, uniformly drawn."""
    u = torch.rand(n, 4, generator=gen) * 2 - 1
    angle = u[:, 0] * math.radians(max_rotation)
    scale = 1.0 + u[:, 1] * max_scale
    shift = u[:, 2:] * max_shift * 2.0 / size
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    return torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                        torch.stack([sin, cos, shift[:, 1]], 1)], 1)


def compose(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Matrix of sampling with `a` after `b` (both (n, 2, 3))."""
    pad = torch.tensor([0.0, 0.0, 1.0]).expand(a.shape[0], 1, 3)
    return (torch.cat([a, pad], 1) @ torch.cat([b, pad], 1))[:, :2]


def resample_uv(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) UV map with mask, sampled at `affine_grid(theta)` (see module notes)."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    mask = x[:, 2:3]
    uvm = torch.cat([x[:, :2] * mask, mask], 1)
    bil = F.grid_sample(uvm, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    near = F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    w = bil[:, 2:3]
    uv = bil[:, :2] / w.clamp_min(1e-6)
    seam = ((uv - near[:, :2]).abs() > SEAM_JUMP).any(1, keepdim=True) | (w < 0.999)
    uv = torch.where(seam, near[:, :2], uv)
    m = (w > 0.5).to(x.dtype)
    return torch.cat([uv * m, m], 1)


def centre_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top: top + size, left: left + size]


def synthetic_triplets(x: torch.Tensor, crop: int, gen: torch.Generator,
                       **transform) -> torch.Tensor:
    """Eq. 5.15's real triplets: (P, f(P), f(f(P))) as (N, 3, 3, crop, crop) from a UV map
    with margin `x` (N, 3, H, W); `transform` goes to `random_transforms`."""
    n, _, h, w = x.shape
    theta = random_transforms(n, gen, size=min(h, w), **transform)
    # affine_grid's normalised coordinates are per axis; for a square crop they agree
    frames = [x, resample_uv(x, theta), resample_uv(x, compose(theta, theta))]
    return torch.stack([centre_crop(f, crop) for f in frames], 1)
