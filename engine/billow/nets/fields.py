"""Field helpers shared by the networks: derived channels, aligned up-sampling, voxel shuffle.

Axis conventions (DESIGN.md): tensors are `(N, C, X, Y[, Z])`, velocity component d lies along
spatial axis d, y (spatial axis 1) is up. Low-res cell i covers high-res cells
[f i, f i + f - 1]; every up-sampling here keeps that alignment (no half-cell shift).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _diff(u: torch.Tensor, axis: int) -> torch.Tensor:
    """Central difference (u[i+1] - u[i-1]) / 2 of `(N, *S)` along spatial `axis`, values
    replicated at the border (exportable to ONNX with dynamic sizes)."""
    dims = u.dim() - 1
    pad = [0, 0] * dims
    pad[2 * (dims - 1 - axis)] = pad[2 * (dims - 1 - axis) + 1] = 1  # F.pad: last axis first
    p = F.pad(u.unsqueeze(1), pad, mode="replicate").squeeze(1)
    n = u.shape[axis + 1]
    return 0.5 * (p.narrow(axis + 1, 2, n) - p.narrow(axis + 1, 0, n))


def vorticity(v: torch.Tensor) -> torch.Tensor:
    """Curl of `(N, D, *S)` velocity in cells per frame: `(N, 1, X, Y)` in 2D
    (dvy/dx - dvx/dy), `(N, 3, X, Y, Z)` in 3D with component d along axis d:
    (dvz/dy - dvy/dz, dvx/dz - dvz/dx, dvy/dx - dvx/dy). The reference code swapped axes here."""
    d = v.shape[1]
    if d == 2:
        return (_diff(v[:, 1], 0) - _diff(v[:, 0], 1)).unsqueeze(1)
    if d != 3:
        raise ValueError(f"vorticity: velocity must have 2 or 3 components, got {d}")
    vx, vy, vz = v[:, 0], v[:, 1], v[:, 2]
    return torch.stack([_diff(vz, 1) - _diff(vy, 2),
                        _diff(vx, 2) - _diff(vz, 0),
                        _diff(vy, 0) - _diff(vx, 1)], dim=1)


def upsample_linear(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Cell-centred (bi/tri)linear up-sampling: high-res cell j samples the low-res field at
    (j + 0.5) / f - 0.5, i.e. aligned with the low-res cell centres (border values clamp)."""
    mode = "bilinear" if x.dim() == 4 else "trilinear"
    return F.interpolate(x, scale_factor=factor, mode=mode, align_corners=False)


def upsample_nearest(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Low-res cell i -> high-res cells [f i, f i + f - 1] (App. A.1 'NI')."""
    return F.interpolate(x, scale_factor=factor, mode="nearest")


def upsample_velocity(v_lr: torch.Tensor, factor: int) -> torch.Tensor:
    """Low-res velocity (low-res cells/frame) -> high-res grid in high-res cells/frame."""
    return upsample_linear(v_lr, factor) * factor


def voxel_shuffle(x: torch.Tensor, r: int) -> torch.Tensor:
    """Sub-voxel shuffle: `(N, C r^D, *S)` -> `(N, C, *(S r))`; channel c r^D + (i r + j) r + k
    becomes offset (i, j, k) inside the r^D block of cell (x, y, z)."""
    dims = x.dim() - 2
    n, c = x.shape[:2]
    s = x.shape[2:]
    out_c = c // r ** dims
    x = x.reshape(n, out_c, *([r] * dims), *s)
    if dims == 2:
        x = x.permute(0, 1, 4, 2, 5, 3)
    else:
        x = x.permute(0, 1, 5, 2, 6, 3, 7, 4)
    return x.reshape(n, out_c, *[m * r for m in s])
