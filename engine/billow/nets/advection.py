"""The advection layer of the temporal discriminator (dissertation Sec. 3.2.3, Eq. 3.4-3.5).

Aligns three consecutive high-res frames with frame t using the low-res velocity v_x
up-sampled to the high-res grid (times the factor: low-res cells/frame -> high-res cells/frame):

    {A(y^{t-1}, v_x^{t-1}), y^t, A(y^{t+1}, -v_x^{t+1})}

with `billow.ops.advect` (differentiable; gradients reach the generator through the warp).
Tile borders: the frames and velocities arrive with `context` low-res cells of REAL
neighbouring data on each side, the warp samples inside that padded crop, and the padding is
cropped away afterwards; nothing is read from outside the tile's true neighbourhood as long as
`context * factor` >= max |v| (high-res cells; 2 max |v| for MacCormack). `last_overflow`
reports the fraction of core cells whose back-trace leaves the crop (the trainer logs it).
"""

from __future__ import annotations

import torch
from torch import nn

from ..ops import advect, interpolate_velocity


def crop(x: torch.Tensor, margin: int) -> torch.Tensor:
    """Remove `margin` cells on every side of every spatial axis."""
    if margin == 0:
        return x
    index = (slice(None), slice(None)) + (slice(margin, -margin),) * (x.dim() - 2)
    return x[index]


class AdvectionLayer(nn.Module):
    def __init__(self, factor: int = 4, context: int = 0, order: str = "semi-lagrangian"):
        super().__init__()
        self.factor, self.context, self.order = factor, context, order
        self.last_overflow = 0.0

    def _check(self, *velocities: torch.Tensor) -> None:
        margin = self.context * self.factor
        # a back-trace moves |v| cells (MacCormack's correction traces back again: 2 |v|)
        reach = torch.stack([crop(v.detach(), margin).abs().amax(dim=1) for v in velocities])
        reach = reach.amax(0) * (2.0 if self.order == "maccormack" else 1.0)
        self.last_overflow = float((reach > margin).float().mean())

    def forward(self, prev: torch.Tensor, cur: torch.Tensor, nxt: torch.Tensor,
                v_prev: torch.Tensor, v_next: torch.Tensor) -> torch.Tensor:
        """High-res frames `(N, C, *S)` padded by `context * factor` cells and low-res velocities
        `(N, D, *s)` padded by `context` cells -> aligned frames `(N, 3C, *core)`."""
        vp = interpolate_velocity(v_prev, self.factor)
        vn = interpolate_velocity(v_next, self.factor)
        self._check(vp, vn)
        fwd = advect(prev, vp, 1.0, self.order)  # Eq. 3.5: A(y^{t-1}, v^{t-1})
        bwd = advect(nxt, -vn, 1.0, self.order)  # A(y^{t+1}, -v^{t+1})
        margin = self.context * self.factor
        return torch.cat([crop(fwd, margin), crop(cur, margin), crop(bwd, margin)], dim=1)
