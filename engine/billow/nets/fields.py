"""The networks' voxel shuffle (sub-pixel convolution in 3D). Their field operators (curl,
up-sampling) are `billow.ops`'.

Axis conventions (DESIGN.md): tensors are `(N, C, X, Y[, Z])`, y (spatial axis 1) is up. Low-res
cell i covers high-res cells [f i, f i + f - 1].
"""

from __future__ import annotations

import torch


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
