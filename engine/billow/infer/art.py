"""Art direction (dissertation Sec. 3.5.2, Fig. 3.12): the network ties detail to velocity, so
scaling the velocity scales the detail it invents. 0 suppresses detail, 1 is as trained, 2
exaggerates. A detail mask w in [0, 1] (a float grid of the input, or a world-space sphere or
box with a smooth falloff) confines the scale S to where w = 1: the per-voxel factor is
1 + (S - 1) w, so outside the mask the result is as trained.

Models with a speed gate take the factor as their own `detail` channel and apply it to the
speed the gate reads only; older models get the velocity times the factor (`network_velocity`).
The thesis's way, scaling the velocity the whole network reads, let a trunk that answered a
slowed flow with more structure invert the slider (issue 17, `benchmarks/slider_source.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class ShapeMask:
    """`sphere:cx,cy,cz,r[,falloff]` or `box:x0,y0,z0,x1,y1,z1[,falloff]` in world units
    (of the cache, before any up-axis turn). 1 inside, 0 beyond `falloff` world units
    outside, smoothstep in between."""

    kind: str
    params: tuple[float, ...]
    falloff: float

    @classmethod
    def parse(cls, text: str) -> "ShapeMask":
        m = re.fullmatch(r"(sphere|box):([-+0-9.eE,\s]+)", text.strip())
        if not m:
            raise InputError(f"--mask '{text}': expected sphere:cx,cy,cz,r[,falloff] or "
                             "box:x0,y0,z0,x1,y1,z1[,falloff] (world units)")
        kind = m.group(1)
        try:
            values = tuple(float(v) for v in m.group(2).split(","))
        except ValueError as e:
            raise InputError(f"--mask '{text}': {e}") from e
        need = 4 if kind == "sphere" else 6
        if len(values) not in (need, need + 1):
            raise InputError(f"--mask '{text}': a {kind} takes {need} numbers (+ falloff)")
        falloff = values[need] if len(values) > need else 0.0
        if falloff < 0:
            raise InputError(f"--mask '{text}': falloff must be >= 0")
        return cls(kind, values[:need], falloff)

    def weight(self, points: np.ndarray) -> np.ndarray:
        """Mask value at world points `(..., 3)`."""
        if self.kind == "sphere":
            centre, radius = np.array(self.params[:3]), self.params[3]
            dist = np.linalg.norm(points - centre, axis=-1) - radius
        else:
            lo, hi = np.array(self.params[:3]), np.array(self.params[3:])
            lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
            outside = np.maximum(np.maximum(lo - points, points - hi), 0.0)
            dist = np.linalg.norm(outside, axis=-1)
        if self.falloff > 0:
            t = np.clip(dist / self.falloff, 0.0, 1.0)
        else:
            t = (dist > 0).astype(np.float64)
        return (1.0 - t * t * (3 - 2 * t)).astype(np.float32)  # smoothstep: no visible edge


def velocity_scale_field(shape, velocity_scale: float, mask: np.ndarray | None) -> np.ndarray:
    """Per-voxel factor for the velocity input: S everywhere, or 1 + (S - 1) w with a mask."""
    if not velocity_scale >= 0:
        raise InputError(f"--velocity-scale must be >= 0, got {velocity_scale}")
    if mask is None:
        return np.full(shape, velocity_scale, np.float32)
    w = np.clip(mask, 0.0, 1.0)
    return (1.0 + (velocity_scale - 1.0) * w).astype(np.float32)


def network_velocity(velocity: np.ndarray, factor: np.ndarray, as_channel: bool) -> np.ndarray:
    """The per-voxel network input besides density, `(*S, C)`: `velocity` `(*S, D)` with the
    slider `factor` `(*S)` appended as one more channel for a model that takes it
    (`ModelCard.slider_input`), else the velocity times the factor."""
    if as_channel:
        return np.concatenate([velocity, factor[..., None]], axis=-1).astype(np.float32)
    return velocity * factor[..., None]
