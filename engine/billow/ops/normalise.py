"""Whole-frame input normalisation of the smoke generator (issue 17).

A network trained on one solver's density units and speeds fails on another's: densities of
0.01 or 1, motion of 0.03 or 1 low-res cells per frame. Models whose card says
`"normalise": "frame"` see density and velocity divided by two statistics of the WHOLE frame,
and their density output is multiplied back:

- density scale s_d = sum(rho^2) / sum(rho): the density-weighted mean density. It ignores the
  thin haze around smoke (weighted by density) and is exactly proportional to the density, so
  upres(k rho) = k upres(rho) by construction for any k > 0.
- velocity scale s_v = sqrt(sum(rho |v|^2) / sum(rho)): the density-weighted RMS speed in
  low-res cells per frame, floored at `MIN_SPEED` so still smoke stays finite. It is
  independent of the density's amplitude, and it is taken from the velocity BEFORE art
  direction, so `--velocity-scale` still scales what the network sees.

Both are sums over voxels, so they scale with active voxels, and every tile of a frame gets
the same two numbers: tiled output still equals whole-volume output. `billow upres` records
them in the output metadata (`billow_density_scale`, `billow_velocity_scale_norm`).
"""

from __future__ import annotations

import numpy as np

MIN_SPEED = 1e-3  # low-res cells per frame; below it a frame counts as still
MIN_DENSITY = 1e-12


def frame_sums(density: np.ndarray, velocity: np.ndarray | None) -> np.ndarray:
    """(sum rho, sum rho^2, sum rho |v|^2) over some voxels: the sums of disjoint windows of a
    frame add up to the frame's (region-by-region upres of sparse caches)."""
    rho = np.maximum(np.asarray(density, np.float64), 0.0)
    out = np.array([rho.sum(), (rho * rho).sum(), np.nan])
    if velocity is not None:
        out[2] = (rho * np.square(np.asarray(velocity, np.float64)).sum(axis=-1)).sum()
    return out


def scales_from_sums(sums: np.ndarray) -> tuple[float, float]:
    """(s_d, s_v) from `frame_sums` (summed over windows); an empty frame gives (1, 1), a
    frame without velocity s_v = 1."""
    total, sq, moved = (float(x) for x in sums)
    if total <= MIN_DENSITY:
        return 1.0, 1.0
    s_v = 1.0 if np.isnan(moved) else max(float(np.sqrt(moved / total)), MIN_SPEED)
    return sq / total, s_v


def frame_scales(density: np.ndarray, velocity: np.ndarray | None) -> tuple[float, float]:
    """(s_d, s_v) of one frame: density `(*S)`, velocity `(*S, D)` in low-res cells per frame
    (or None: s_v = 1). An empty frame gives (1, 1)."""
    return scales_from_sums(frame_sums(density, velocity))
