"""Trilinear resampling of a grid block onto another grid's voxels, in world space; used when
grids of one frame have different voxel sizes or origins."""

from __future__ import annotations

import numpy as np

from .transform import index_to_world, world_to_index
from .volume import Volume


def sample_trilinear(data: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sample `data` ([x, y, z] or [x, y, z, c]) at fractional index positions `idx` (..., 3);
    positions outside the block read as 0 (the VDB background)."""
    base = np.floor(idx).astype(np.int64)
    frac = (idx - base).astype(np.float32)
    out_shape = idx.shape[:-1] + data.shape[3:]
    out = np.zeros(out_shape, dtype=np.float32)
    shape = np.array(data.shape[:3])
    for corner in range(8):
        d = np.array([(corner >> a) & 1 for a in range(3)])
        pos = base + d
        inside = np.all((pos >= 0) & (pos < shape), axis=-1)
        w = np.prod(np.where(d == 1, frac, 1.0 - frac), axis=-1) * inside
        clipped = np.clip(pos, 0, shape - 1)
        values = data[clipped[..., 0], clipped[..., 1], clipped[..., 2]]
        if data.ndim == 4:
            w = w[..., None]
        out += w * values
    return out


def resample_onto(src: Volume, matrix: np.ndarray, offset, shape) -> Volume:
    """`src` resampled at the voxels of the block (`matrix`, `offset`, `shape`)."""
    idx = np.stack(np.meshgrid(*[np.arange(n) + o for n, o in zip(shape, offset)],
                               indexing="ij"), axis=-1)
    src_idx = world_to_index(src.matrix, index_to_world(matrix, idx)) - np.array(src.offset)
    return src.with_data(sample_trilinear(src.data, src_idx), offset=tuple(offset),
                         matrix=np.array(matrix))
