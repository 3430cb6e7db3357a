"""What a user would use instead of billow: interpolation (nearest, trilinear, tricubic
Catmull-Rom), tricubic back-projected onto the input's block means (`tricubic-bp`: the best of
these on box-averaged smoke, no invented detail) and wavelet turbulence (Kim et al. 2008). All
share one per-frame interface, `step(density_lr, velocity_lr) -> density_hr`, on `[x, y(, z)]`
blocks with velocity `[D, x, y(, z)]` in low-res cells per frame; the output sits on
`billow.upres_matrix`."""

from __future__ import annotations

import torch

from ..ops import project_block_means
from .interp import INTERPOLATIONS, upsample
from .wavelet import WaveletConfig, WaveletTurbulence

METHODS = INTERPOLATIONS + ("tricubic-bp", "wavelet")
BP_STEPS = 3  # out of family: L1 0.90-0.97x tricubic's, lattice 0.25-1.61x the reference's


class Interpolation:
    """Stateless interpolation baseline."""

    reach = 2  # input cells an output voxel reads (Catmull-Rom's; the others read fewer)

    def __init__(self, factor: int, method: str):
        self.factor, self.method = int(factor), method

    def step(self, density, velocity=None):
        return upsample(density, self.factor, self.method)

    def reset(self) -> None:
        pass


class BackProjected(Interpolation):
    """Tricubic, then `BP_STEPS` back-projection steps onto the input's block means
    (`billow.ops.project_block_means`): each low-res cell's block keeps its density."""

    reach = 2 + BP_STEPS  # each step's linear up-sampling reads one cell further

    def __init__(self, factor: int):
        super().__init__(factor, "tricubic")

    def step(self, density, velocity=None):
        y = super().step(density)
        low = torch.as_tensor(density, dtype=torch.float32)[None, None]
        y = y[None, None]
        for _ in range(BP_STEPS):
            y = project_block_means(y, low, self.factor)
        return y[0, 0]


def make_baseline(name: str, factor: int, **params):
    """A baseline by name; `params` go to `WaveletConfig` for "wavelet"."""
    if name in INTERPOLATIONS or name == "tricubic-bp":
        if params:
            raise ValueError(f"baseline '{name}' takes no parameters (got {sorted(params)})")
        return BackProjected(factor) if name == "tricubic-bp" else Interpolation(factor, name)
    if name == "wavelet":
        return WaveletTurbulence(factor, WaveletConfig(**params))
    raise ValueError(f"unknown baseline '{name}' (choose {', '.join(METHODS)})")


__all__ = ["BackProjected", "INTERPOLATIONS", "METHODS", "Interpolation", "WaveletConfig",
           "WaveletTurbulence",
           "make_baseline", "upsample"]
