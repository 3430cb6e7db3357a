"""Interpolation baselines: nearest, trilinear and tricubic upres with the shared operator
`billow.ops.upsample`, which places output index o at input index p = (o + 1/2) / f - 1/2 (the
exact upres transform, `billow.upres_matrix`): the output overlays the input with no half-voxel
shift and keeps its centre of mass.

Tricubic is Catmull-Rom (the interpolating cubic with a = -1/2): it passes through the input
values, is C1 and keeps quadratics exact. It overshoots at sharp edges, so density is clamped at
0 afterwards (`clamp`, on by default for tricubic). Samples beyond the block repeat its border
(the training filter's replicate padding), so smoke touching a domain wall is not darkened.
"""

from __future__ import annotations

import torch

from ..metrics.fields import as_tensor
from ..ops import upsample as _upsample

INTERPOLATIONS = ("nearest", "trilinear", "tricubic")


def upsample(x, factor: int, method: str = "tricubic", *, clamp: bool | None = None,
             channels: bool = False) -> torch.Tensor:
    """Upres a block `[x, y(, z)]` (or `[C, x, y(, z)]` with `channels=True`) by `factor`."""
    if method not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation '{method}' (choose {', '.join(INTERPOLATIONS)})")
    y = as_tensor(x)
    batch = y[None] if channels else y[None, None]
    out = _upsample(batch, int(factor), method)
    out = out[0] if channels else out[0, 0]
    if clamp if clamp is not None else method == "tricubic":
        out = out.clamp(min=0)
    return out
