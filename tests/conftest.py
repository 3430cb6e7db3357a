"""Shared fixtures: real OpenVDB (the official module, through billow's loader) at small sizes."""

from __future__ import annotations

import numpy as np
import pytest

from billow.io.openvdb_module import openvdb


@pytest.fixture(scope="session")
def vdb():
    """The raw OpenVDB module, for writing test inputs independently of billow's writer."""
    return openvdb()


def raw_grid(vdb, name, data, offset=(0, 0, 0), matrix=None, grid_class=None, vector_type=None,
             metadata=None):
    """A grid made with OpenVDB's own API (so reader tests do not depend on billow's writer)."""
    grid = vdb.Vec3SGrid() if data.ndim == 4 else vdb.FloatGrid()
    grid.name = name
    grid.copyFromArray(np.ascontiguousarray(data, dtype=np.float32), tuple(offset))
    if matrix is not None:
        grid.transform = vdb.createLinearTransform([[float(v) for v in r] for r in matrix])
    if grid_class:
        grid.gridClass = grid_class
    if vector_type:
        grid.vectorType = vector_type
    for k, v in (metadata or {}).items():
        grid[k] = v
    return grid


def scaled_matrix(voxel, origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    m = np.diag([*np.broadcast_to(voxel, 3), 1.0]).astype(np.float64)
    m[3, :3] = origin
    return m


@pytest.fixture
def write_raw(vdb, tmp_path):
    """write_raw("f.vdb", grid, ...) -> path, written by OpenVDB directly."""

    def _write(name, *grids, metadata=None):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        vdb.write(str(path), list(grids), metadata=metadata or {})
        return path

    return _write


def blob(shape, centre, radius) -> np.ndarray:
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    r2 = ((idx - np.asarray(centre)) ** 2).sum(-1)
    return np.exp(-r2 / radius**2).astype(np.float32) * (r2 < (2.5 * radius) ** 2)
