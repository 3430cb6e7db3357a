"""What a user would use instead of billow: interpolation (nearest, trilinear, tricubic
Catmull-Rom) and wavelet turbulence (Kim et al. 2008). All share one per-frame interface,
`step(density_lr, velocity_lr) -> density_hr`, on `[x, y(, z)]` blocks with velocity
`[D, x, y(, z)]` in low-res cells per frame; the output sits on `billow.upres_matrix`."""

from __future__ import annotations

from .interp import INTERPOLATIONS, upsample
from .wavelet import WaveletConfig, WaveletTurbulence

METHODS = INTERPOLATIONS + ("wavelet",)


class Interpolation:
    """Stateless interpolation baseline."""

    def __init__(self, factor: int, method: str):
        self.factor, self.method = int(factor), method

    def step(self, density, velocity=None):
        return upsample(density, self.factor, self.method)

    def reset(self) -> None:
        pass


def make_baseline(name: str, factor: int, **params):
    """A baseline by name; `params` go to `WaveletConfig` for "wavelet"."""
    if name in INTERPOLATIONS:
        if params:
            raise ValueError(f"baseline '{name}' takes no parameters (got {sorted(params)})")
        return Interpolation(factor, name)
    if name == "wavelet":
        return WaveletTurbulence(factor, WaveletConfig(**params))
    raise ValueError(f"unknown baseline '{name}' (choose {', '.join(METHODS)})")


__all__ = ["INTERPOLATIONS", "METHODS", "Interpolation", "WaveletConfig", "WaveletTurbulence",
           "make_baseline", "upsample"]
