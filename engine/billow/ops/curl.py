"""Central differences and the curl (vorticity) of a cell-centred velocity field.

Axis conventions (DESIGN.md): tensors are `(N, C, X, Y[, Z])`, velocity component d lies along
spatial axis d. One implementation for the networks' vorticity input, the solver's torch
reference of vorticity confinement, and anything else that needs the curl. (The wavelet
turbulence baseline's curl of its noise potentials is a different operator on purpose: numpy,
periodic differences on a tiling noise tile; see `billow.baselines.wavelet.curl_noise_tile`.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def central_difference(u: torch.Tensor, axis: int) -> torch.Tensor:
    """(u[i+1] - u[i-1]) / 2 of `(N, *S)` along spatial `axis`, values replicated at the
    border (one-sided half at the sides, zero for size 1; exportable to ONNX with dynamic
    sizes)."""
    dims = u.dim() - 1
    pad = [0, 0] * dims
    pad[2 * (dims - 1 - axis)] = pad[2 * (dims - 1 - axis) + 1] = 1  # F.pad: last axis first
    p = F.pad(u.unsqueeze(1), pad, mode="replicate").squeeze(1)
    n = u.shape[axis + 1]
    return 0.5 * (p.narrow(axis + 1, 2, n) - p.narrow(axis + 1, 0, n))


def curl(v: torch.Tensor) -> torch.Tensor:
    """Curl of `(N, D, *S)` velocity (in its own units per cell): `(N, 1, X, Y)` in 2D
    (dvy/dx - dvx/dy), `(N, 3, X, Y, Z)` in 3D with component d along axis d:
    (dvz/dy - dvy/dz, dvx/dz - dvz/dx, dvy/dx - dvx/dy). The reference code swapped axes here."""
    d = v.shape[1]
    diff = central_difference
    if d == 2:
        return (diff(v[:, 1], 0) - diff(v[:, 0], 1)).unsqueeze(1)
    if d != 3:
        raise ValueError(f"curl: velocity must have 2 or 3 components, got {d}")
    vx, vy, vz = v[:, 0], v[:, 1], v[:, 2]
    return torch.stack([diff(vz, 1) - diff(vy, 2),
                        diff(vx, 2) - diff(vz, 0),
                        diff(vy, 0) - diff(vx, 1)], dim=1)
