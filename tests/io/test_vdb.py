"""Reading and writing grids with the real OpenVDB module."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from billow.io import GridBuilder, Volume, list_grids, read_grid, write_vdb
from billow.io.transform import index_to_world

from ..conftest import blob, raw_grid, scaled_matrix


def rotated_matrix() -> np.ndarray:
    """A non-axis-aligned, non-uniform transform with a translation."""
    a = np.deg2rad(30)
    rot = np.array([[np.cos(a), np.sin(a), 0], [-np.sin(a), np.cos(a), 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = np.diag([0.1, 0.2, 0.05]) @ rot
    m[3, :3] = (1.5, -2.0, 0.25)
    return m


@pytest.mark.parametrize("vector", [False, True])
def test_round_trip_with_offset_and_transform(tmp_path, vector):
    rng = np.random.default_rng(0)
    shape = (5, 7, 6) + ((3,) if vector else ())
    data = rng.uniform(0.1, 1.0, shape).astype(np.float32)
    vol = Volume("vel" if vector else "density", data, (-3, 10, 4), rotated_matrix(),
                 vector_type="contravariant relative" if vector else "invariant",
                 metadata={"note": "hello", "count": 3})
    path = write_vdb(tmp_path / "rt.vdb", [vol], metadata={"shot": "sh010"})
    back = read_grid(path, vol.name)
    assert back.offset == (-3, 10, 4)
    np.testing.assert_array_equal(back.data, data)
    np.testing.assert_allclose(back.matrix, vol.matrix, atol=1e-12)
    assert back.metadata["note"] == "hello" and back.metadata["count"] == 3
    info = list_grids(path)[0]
    assert info.bbox == ((-3, 10, 4), (1, 16, 9))
    assert info.active_voxels == 5 * 7 * 6
    assert info.grid_class == ("unknown" if vector else "fog volume")
    if vector:
        assert info.vector_type == "contravariant relative"


def test_half_and_tolerance(tmp_path):
    data = np.zeros((8, 8, 8), np.float32)
    data[2:6, 2:6, 2:6] = 0.3
    data[0, 0, 0] = 1e-6  # below tolerance: dropped
    vol = Volume("density", data, (0, 0, 0), scaled_matrix(0.5))
    path = write_vdb(tmp_path / "h.vdb", [vol], half=True, tolerance=1e-4)
    info = list_grids(path)[0]
    assert info.saved_as_half and info.active_voxels == 64
    back = read_grid(path, "density")
    assert back.offset == (2, 2, 2) and back.shape == (4, 4, 4)
    np.testing.assert_allclose(back.data, 0.3, rtol=1e-3)  # half precision


def test_list_grids_reads_headers_only(write_raw, vdb):
    data = blob((20, 20, 20), (10, 10, 10), 4)
    path = write_raw("m.vdb", raw_grid(vdb, "density", data, (100, 0, -50),
                                       scaled_matrix(0.25, (1, 2, 3)), "fog volume",
                                       metadata={"fps": 24.0}))
    (info,) = list_grids(path)
    lo, hi = info.bbox
    active = np.argwhere(data > 0)
    assert lo == tuple(active.min(0) + (100, 0, -50)) and hi == tuple(active.max(0) + (100, 0, -50))
    assert info.active_voxels == int((data > 0).sum())
    np.testing.assert_allclose(info.voxel_size, 0.25)
    np.testing.assert_allclose(info.matrix[3, :3], (1, 2, 3))
    assert info.metadata == {"fps": 24.0}


def test_active_bbox_loading_stays_small(write_raw, vdb):
    """A 16^3 blob in a 256^3 domain loads as 16^3 floats, not 256^3."""
    data = np.zeros((16, 16, 16), np.float32) + 0.5
    path = write_raw("sparse.vdb", raw_grid(vdb, "density", data, (200, 3, 120)),
                     raw_grid(vdb, "corner", np.ones((1, 1, 1, 1), np.float32)[..., 0]))
    tracemalloc.start()
    vol = read_grid(path, "density", pad=2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert vol.shape == (20, 20, 20) and vol.offset == (198, 1, 118)
    assert peak < 1_000_000  # a dense 256^3 float32 block would be 64 MB
    assert vol.data[2:-2, 2:-2, 2:-2].min() == 0.5 and vol.data[0].max() == 0


def test_empty_grid_reads_as_empty_block(write_raw, vdb):
    path = write_raw("empty.vdb", raw_grid(vdb, "density", np.zeros((4, 4, 4), np.float32)))
    vol = read_grid(path, "density")
    assert vol.data.shape == (0, 0, 0)
    assert list_grids(path)[0].bbox is None


def test_grid_builder_writes_blocks_sparsely(tmp_path):
    m = scaled_matrix(0.1)
    builder = GridBuilder("density", m, tolerance=1e-6)
    block = np.full((8, 8, 8), 0.7, np.float32)
    builder.paste(block, (0, 0, 0))
    builder.paste(np.zeros((8, 8, 8), np.float32), (64, 64, 64))  # empty tile: nothing stored
    builder.paste(block, (200, 0, 0))
    path = write_vdb(tmp_path / "b.vdb", [builder])
    info = list_grids(path)[0]
    assert info.active_voxels == 2 * 512
    assert info.bbox == ((0, 0, 0), (207, 7, 7))


def test_world_positions_survive(tmp_path):
    m = rotated_matrix()
    vol = Volume("density", np.ones((2, 2, 2), np.float32), (4, 5, 6), m)
    back = read_grid(write_vdb(tmp_path / "w.vdb", [vol]), "density")
    np.testing.assert_allclose(back.cell_centres(), vol.cell_centres(), atol=1e-9)
    np.testing.assert_allclose(back.cell_centres()[0, 0, 0], index_to_world(m, [4, 5, 6]))
