"""`billow convert` end to end: Blender-style caches to Houdini-style and back."""

from __future__ import annotations

import numpy as np

from billow.io import list_grids, read_grid

from ..conftest import blob, raw_grid, scaled_matrix
from .cli_helpers import billow


def write_blender_cache(write_raw, vdb, frames=(1, 2, 3)):
    """Mantaflow-like frames: z-up, `density`, staggered `velocity`, `heat`."""
    m = scaled_matrix(0.1)
    for f in frames:
        dens = blob((10, 10, 10), (5, 5, 3 + f), 2.0)
        vel = np.zeros((11, 11, 11, 3), np.float32)
        vel[..., 2] = 0.5  # rising along Blender's z
        write_raw(f"blend/fluid_data_{f:04d}.vdb", raw_grid(vdb, "density", dens, matrix=m),
                  raw_grid(vdb, "velocity", vel, matrix=m, grid_class="staggered"),
                  raw_grid(vdb, "heat", dens * 2, matrix=m))


def test_blender_to_houdini_and_back(write_raw, vdb, tmp_path):
    write_blender_cache(write_raw, vdb)
    r = billow("convert", tmp_path / "blend/fluid_data_####.vdb", tmp_path / "hou/smoke.$F4.vdb",
               "--up-axis", "z", "--fps", "25", "--progress", "json")
    assert r.code == 0, r.err
    assert [line.count('"event": "frame"') for line in r.out.splitlines()].count(1) == 3
    names = sorted(g.name for g in list_grids(tmp_path / "hou/smoke.0002.vdb"))
    assert names == ["density", "temperature", "vel"]
    vel = read_grid(tmp_path / "hou/smoke.0002.vdb", "vel")
    # Mantaflow 0.5 cells per time unit, 0.1 time units per frame at 25 fps, 25 frames/s,
    # 0.1 world units per cell: 0.125 world units per second, pointing up (+y in Houdini)
    inside = np.abs(vel.data).sum(-1) > 0
    np.testing.assert_allclose(vel.data[inside], np.broadcast_to([0, 0.125, 0], (inside.sum(), 3)),
                               atol=1e-6)
    assert vel.metadata["billow_velocity_units"] == "world/s"

    r = billow("convert", tmp_path / "hou/smoke.####.vdb", tmp_path / "back/smoke.####.vdb",
               "--style", "blender", "--split-vectors", "--rename", "heat=temperature_b")
    assert r.code == 0, r.err
    names = sorted(g.name for g in list_grids(tmp_path / "back/smoke.0003.vdb"))
    assert names == ["density", "temperature_b", "velocity.x", "velocity.y", "velocity.z"]
    a = read_grid(tmp_path / "blend/fluid_data_0003.vdb", "density")
    b = read_grid(tmp_path / "back/smoke.0003.vdb", "density")
    assert a.offset == b.offset
    np.testing.assert_allclose(a.data, b.data)
    np.testing.assert_allclose(a.matrix, b.matrix, atol=1e-12)
