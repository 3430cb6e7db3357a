"""Differentiable advection A(y, v) of cell-centred fields (dissertation Eq. 2.7, 2.8, 3.3-3.5).

`y` is `(N, C, *S)` with S = (X, Y) or (X, Y, Z); `v` is `(N, D, *S)` with component d along
spatial axis d, in cells per unit time. One step of semi-Lagrangian advection reads y at the
back-traced position x - v(x) dt (Eq. 2.7) with linear interpolation; MacCormack adds half the
forward-backward error (Eq. 2.8) and clamps to the values that were interpolated, so it creates
no new extrema. Positions outside the block are clamped to its border: callers that advect a
tile pass a crop padded by at least max|v| dt cells of real context and discard the padding
(the public reference code read garbage there).

The same operator serves the temporal losses (forward for t-1 with +v, backward for t+1 with
-v, Eq. 3.4), the temporal discriminator's inputs and the temporal-coherence metrics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _sample_grid(v: torch.Tensor, dt: float) -> torch.Tensor:
    """grid_sample coordinates (align_corners=True) of the back-traced positions x - v dt."""
    spatial = v.shape[2:]
    dims = len(spatial)
    axes = [torch.arange(n, dtype=v.dtype, device=v.device) for n in spatial]
    base = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=0)  # (D, *S)
    pos = base.unsqueeze(0) - v * dt
    norm = [2.0 * pos[:, d] / max(n - 1, 1) - 1.0 for d, n in enumerate(spatial)]
    # grid_sample wants the last spatial axis first (W, H[, D])
    return torch.stack(norm[::-1], dim=-1) if dims else pos


def _warp(y: torch.Tensor, grid: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    return F.grid_sample(y, grid, mode=mode, padding_mode="border", align_corners=True)


def _neighbour_extrema(y: torch.Tensor, v: torch.Tensor, dt: float):
    """Min and max of the 2^D grid values around each back-traced position (Eq. 2.8 clamp)."""
    dims = y.dim() - 2
    pool = F.max_pool2d if dims == 2 else F.max_pool3d
    # extrema over the cell [i, i+1]^D, stored at i; pad the high side by replication
    padded = F.pad(y, (0, 1) * dims, mode="replicate")
    hi = pool(padded, kernel_size=2, stride=1)
    lo = -pool(-padded, kernel_size=2, stride=1)
    spatial = y.shape[2:]
    axes = [torch.arange(n, dtype=v.dtype, device=v.device) for n in spatial]
    base = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=0).unsqueeze(0)
    pos = base - v * dt
    cell = torch.stack([pos[:, d].clamp(0, n - 1).floor() for d, n in enumerate(spatial)], 1)
    norm = [2.0 * cell[:, d] / max(n - 1, 1) - 1.0 for d, n in enumerate(spatial)]
    grid = torch.stack(norm[::-1], dim=-1)
    return _warp(lo, grid, "nearest"), _warp(hi, grid, "nearest")


def advect(y: torch.Tensor, v: torch.Tensor, dt: float = 1.0,
           order: str = "semi-lagrangian") -> torch.Tensor:
    """Advect `y` by `v` for time `dt`: `order` is "semi-lagrangian" or "maccormack"."""
    if y.dim() not in (4, 5) or v.shape[1] != y.dim() - 2 or v.shape[2:] != y.shape[2:]:
        raise ValueError(f"advect: field {tuple(y.shape)} and velocity {tuple(v.shape)} must "
                         "be (N, C, *S) and (N, len(S), *S) on the same grid")
    forward = _warp(y, _sample_grid(v, dt))
    if order == "semi-lagrangian":
        return forward
    if order != "maccormack":
        raise ValueError(f"advect: unknown order '{order}'")
    back = _warp(forward, _sample_grid(v, -dt))
    corrected = forward + 0.5 * (y - back)
    lo, hi = _neighbour_extrema(y, v, dt)
    return torch.maximum(torch.minimum(corrected, hi), lo)


def advect_through(y: torch.Tensor, velocities: list[torch.Tensor]) -> torch.Tensor:
    """Carry `y` forward through several frames, `velocities` oldest first (frame j's moves it
    to j + 1), reading `y` ONCE: the back-traced position is composed through every frame
    (x -> x - v_j(x), each velocity read linearly at the position reached so far), then `y` is
    sampled there. Equal to repeated semi-Lagrangian `advect` for whole-cell motion; for
    sub-cell motion it blurs `y` by one linear read instead of one per frame, which is what
    keeps `billow steady`'s carried-forward detail sharp (each read averages neighbours)."""
    if not velocities:
        return y
    v0 = velocities[-1]
    if y.dim() not in (4, 5) or any(v.shape != v0.shape for v in velocities) or \
            v0.shape[1] != y.dim() - 2 or v0.shape[2:] != y.shape[2:]:
        raise ValueError(f"advect_through: field {tuple(y.shape)} and velocities "
                         f"{[tuple(v.shape) for v in velocities]} must be (N, C, *S) and "
                         "(N, len(S), *S) on the same grid")
    spatial = y.shape[2:]
    axes = [torch.arange(n, dtype=v0.dtype, device=v0.device) for n in spatial]
    pos = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=0).unsqueeze(0)  # (1, D, *S)

    def grid(p):
        norm = [2.0 * p[:, d] / max(n - 1, 1) - 1.0 for d, n in enumerate(spatial)]
        return torch.stack(norm[::-1], dim=-1)

    for k, v in enumerate(reversed(velocities)):  # newest first: trace back frame by frame
        pos = pos - (v if k == 0 else _warp(v, grid(pos)))
    return _warp(y, grid(pos))
