"""Velocity units and up axes.

The networks see velocity in **low-res cells per frame** on a **y-up** grid. Caches come as:
- `world/s`: world units per second (Houdini, most tools). cells/frame = v @ L^-1 / fps, with L
  the index-to-world linear part (for axis-aligned grids: v / voxel_size / fps);
- `cells/frame`: already what the networks want (billow's own caches);
- `mantaflow`: Blender's Mantaflow solver units, grid cells per solver time unit, where one
  frame lasts `0.1 * (25 / fps) * time_scale` time units (Blender's `frame_length`).
Every output records the units and fps it used in its metadata.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .transform import up_axis_rotation
from .volume import Volume

VELOCITY_UNITS = ("world/s", "cells/frame", "mantaflow")
DEFAULT_FPS = 24.0


def _check(units: str, fps: float) -> None:
    if units not in VELOCITY_UNITS:
        raise InputError(f"velocity units must be one of {', '.join(VELOCITY_UNITS)}; "
                         f"got '{units}'")
    if not fps > 0:
        raise InputError(f"fps must be positive, got {fps}")


def mantaflow_frame_length(fps: float, time_scale: float = 1.0) -> float:
    """Mantaflow time units per frame, as Blender sets them up."""
    return 0.1 * (25.0 / fps) * time_scale


def to_cells_per_frame(vel: Volume, units: str, fps: float = DEFAULT_FPS,
                       time_scale: float = 1.0) -> Volume:
    _check(units, fps)
    v = vel.data.astype(np.float32, copy=False)
    if units == "world/s":
        v = v @ np.linalg.inv(vel.matrix[:3, :3]).astype(np.float32) / np.float32(fps)
    elif units == "mantaflow":
        v = v * np.float32(mantaflow_frame_length(fps, time_scale))
    return vel.with_data(np.ascontiguousarray(v, dtype=np.float32))


def from_cells_per_frame(vel: Volume, units: str, fps: float = DEFAULT_FPS,
                         time_scale: float = 1.0) -> Volume:
    _check(units, fps)
    v = vel.data.astype(np.float32, copy=False)
    if units == "world/s":
        v = v @ vel.matrix[:3, :3].astype(np.float32) * np.float32(fps)
    elif units == "mantaflow":
        v = v / np.float32(mantaflow_frame_length(fps, time_scale))
    return vel.with_data(np.ascontiguousarray(v, dtype=np.float32))


def rotate_up_axis(volume: Volume, src: str, dst: str = "y") -> Volume:
    """Turn a volume so that `src` up becomes `dst` up, moving the voxels (not just the
    transform) so that index axis y stays the up direction the networks expect.

    With R the rotation (column vectors), index i goes to n = R i, world w to R w and vectors
    v to R v; the new index-to-world map is L' = R L R^T, t' = t R^T (row-vector convention).
    """
    rot = up_axis_rotation(src, dst)
    if np.allclose(rot, np.eye(3)):
        return volume
    perm = [int(np.argmax(np.abs(rot[a]))) for a in range(3)]  # new axis a <- old axis perm[a]
    sign = [int(rot[a, perm[a]]) for a in range(3)]
    data = volume.data.transpose(perm + ([3] if volume.is_vector else []))
    flips = tuple(a for a in range(3) if sign[a] < 0)
    if flips:
        data = np.flip(data, axis=flips)
    old_shape, old_off = volume.shape, volume.offset
    offset = tuple(old_off[perm[a]] if sign[a] > 0 else -(old_off[perm[a]] + old_shape[perm[a]] - 1)
                   for a in range(3))
    m = np.eye(4)
    m[:3, :3] = rot @ volume.matrix[:3, :3] @ rot.T
    m[3, :3] = volume.matrix[3, :3] @ rot.T
    if volume.is_vector:
        data = data @ rot.T.astype(data.dtype)
    return volume.with_data(np.ascontiguousarray(data), offset=offset, matrix=m)
