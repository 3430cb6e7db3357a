"""A dense block of a VDB grid: the array over (part of) its active bounding box, where that
block sits in index space, and the index-to-world transform."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .transform import index_to_world, voxel_sizes


@dataclass
class Volume:
    """`data` is `[x, y, z]` for scalars and `[x, y, z, 3]` for vectors (OpenVDB index order);
    `data[0, 0, 0]` is the voxel at index `offset`. Everything outside the block is `background`.
    """

    name: str
    data: np.ndarray
    offset: tuple[int, int, int]
    matrix: np.ndarray
    grid_class: str | None = None  # None: fog volume for scalars, unknown for vectors
    vector_type: str = "invariant"
    metadata: dict = field(default_factory=dict)
    background: float = 0.0

    @property
    def is_vector(self) -> bool:
        return self.data.ndim == 4

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape[:3])

    @property
    def voxel_size(self) -> np.ndarray:
        return voxel_sizes(self.matrix)

    @property
    def index_bbox(self) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """Inclusive (min, max) index corners, as OpenVDB reports bounding boxes."""
        lo = tuple(int(v) for v in self.offset)
        return lo, tuple(int(a + n - 1) for a, n in zip(lo, self.shape))

    def world_bbox(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.index_bbox
        corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1])
                            for c in (lo[2], hi[2])])
        world = index_to_world(self.matrix, corners)
        return world.min(axis=0), world.max(axis=0)

    def cell_centres(self) -> np.ndarray:
        """World positions of every voxel, shape `[x, y, z, 3]` (used by tests and resampling)."""
        idx = np.stack(np.meshgrid(*[np.arange(n) + o for n, o in zip(self.shape, self.offset)],
                                   indexing="ij"), axis=-1)
        return index_to_world(self.matrix, idx)

    def with_data(self, data: np.ndarray, **changes) -> "Volume":
        return replace(self, data=data, **changes)
