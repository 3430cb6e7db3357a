"""Smoke frames as DCCs write them: split vectors, staggered Mantaflow velocity, units,
aliases, mismatched grids and up axes."""

from __future__ import annotations

import numpy as np
import pytest

from billow.errors import InputError
from billow.io import ReadOptions, read_grid, read_smoke_frame, write_smoke_frame
from billow.io.frame import SmokeFrame
from billow.io.transform import index_to_world

from ..conftest import blob, raw_grid, scaled_matrix

DENS = blob((12, 12, 12), (6, 6, 6), 3)


def constant_velocity(shape, value):
    return np.broadcast_to(np.asarray(value, np.float32), tuple(shape) + (3,)).copy()


def test_split_velocity_is_merged(write_raw, vdb):
    m = scaled_matrix(0.5)
    comps = [raw_grid(vdb, f"vel.{a}", np.full((12, 12, 12), 12.0 * (c + 1), np.float32),
                      matrix=m) for c, a in enumerate("xyz")]
    path = write_raw("split.vdb", raw_grid(vdb, "density", DENS, matrix=m), *comps)
    frame = read_smoke_frame(path, ReadOptions(fps=24.0))
    assert frame.source["velocity"] == "vel.x/vel.y/vel.z"
    # 12 world/s with voxel 0.5 at 24 fps is 1 cell per frame
    np.testing.assert_allclose(frame.velocity.data[3, 4, 5], (1.0, 2.0, 3.0), rtol=1e-6)
    assert frame.velocity.shape == frame.density.shape


def test_staggered_velocity_is_centred(write_raw, vdb):
    """Mantaflow MAC velocity: u of voxel i sits at x = i - 1/2. A linear field a*x sampled on
    the faces must come back as a*i at the centres."""
    a = np.array([0.5, -1.0, 2.0], np.float32)
    offset = np.array([-1, -1, -1])
    glob = np.stack(np.meshgrid(*[np.arange(14)] * 3, indexing="ij"), axis=-1) + offset
    faces = ((glob - 0.5) * a + 100.0).astype(np.float32)  # component d at the lower d-face
    m = scaled_matrix(0.1)
    vel = raw_grid(vdb, "velocity", faces, tuple(offset), m, "staggered")
    path = write_raw("mac.vdb", raw_grid(vdb, "density", DENS, matrix=m), vel)
    frame = read_smoke_frame(path, ReadOptions(velocity_units="cells/frame"))
    centres = np.stack(np.meshgrid(*[np.arange(n) for n in frame.density.shape],
                                   indexing="ij"), axis=-1) + frame.density.offset
    np.testing.assert_allclose(frame.velocity.data, centres * a + 100.0, rtol=1e-6)


def test_staggered_defaults_to_mantaflow_units(write_raw, vdb):
    m = scaled_matrix(0.1)
    vel = raw_grid(vdb, "velocity", constant_velocity((14, 14, 14), (2.0, 0, 0)), (-1, -1, -1),
                   m, "staggered")
    path = write_raw("manta.vdb", raw_grid(vdb, "density", DENS, matrix=m), vel)
    frame = read_smoke_frame(path, ReadOptions(fps=25.0))
    assert frame.source["velocity_units"] == "mantaflow"
    # one frame at 25 fps is 0.1 Mantaflow time units
    np.testing.assert_allclose(frame.velocity.data[..., 0], 0.2, rtol=1e-6)


def test_aliases_ambiguity_and_overrides(write_raw, vdb):
    m = scaled_matrix(1.0)
    v1 = raw_grid(vdb, "vel", constant_velocity((12, 12, 12), (24, 0, 0)), matrix=m)
    v2 = raw_grid(vdb, "velocity", constant_velocity((12, 12, 12), (0, 48, 0)), matrix=m)
    path = write_raw("amb.vdb", raw_grid(vdb, "density", DENS, matrix=m), v1, v2)
    with pytest.raises(InputError, match="ambiguous velocity: 'vel' and 'velocity'.*--velocity-grid"):
        read_smoke_frame(path)
    frame = read_smoke_frame(path, ReadOptions(velocity_grid="velocity"))
    np.testing.assert_allclose(frame.velocity.data[6, 6, 6], (0, 2, 0))
    with pytest.raises(InputError, match="no grid 'nope' for velocity"):
        read_smoke_frame(path, ReadOptions(velocity_grid="nope"))


def test_missing_density_is_named(write_raw, vdb):
    path = write_raw("nod.vdb", raw_grid(vdb, "smoke_thing", DENS))
    with pytest.raises(InputError, match=r"no density grid \(grids: smoke_thing\)"):
        read_smoke_frame(path)


def test_scalar_v_is_not_velocity(write_raw, vdb):
    path = write_raw("v.vdb", raw_grid(vdb, "density", DENS), raw_grid(vdb, "v", DENS))
    with pytest.raises(InputError, match="no velocity grid"):
        read_smoke_frame(path)
    assert read_smoke_frame(path, ReadOptions(require_velocity=False)).velocity is None


def test_coarser_velocity_is_resampled_or_refused(write_raw, vdb):
    fine, coarse = scaled_matrix(0.1), scaled_matrix(0.2)
    vel = raw_grid(vdb, "vel", constant_velocity((10, 10, 10), (2.4, 0, 0)), matrix=coarse)
    path = write_raw("mis.vdb", raw_grid(vdb, "density", DENS, matrix=fine), vel)
    frame = read_smoke_frame(path, ReadOptions(fps=24.0))
    assert frame.velocity.shape == frame.density.shape
    # 2.4 world/s at 24 fps is 0.1 world units per frame: one fine cell per frame
    np.testing.assert_allclose(frame.velocity.data[..., 0], 1.0, rtol=1e-5)
    with pytest.raises(InputError, match="different transforms"):
        read_smoke_frame(path, ReadOptions(on_mismatch="error"))


def test_z_up_frame_is_turned_and_turned_back(write_raw, vdb, tmp_path):
    m = scaled_matrix(0.1, (1.0, 2.0, 3.0))
    dens = np.zeros((6, 8, 10), np.float32)
    dens[1, 2, 7] = 1.0  # a single voxel, to follow its world position
    up = constant_velocity((6, 8, 10), (0.0, 0.0, 2.4))  # Blender: +z is up
    path = write_raw("zup.vdb", raw_grid(vdb, "density", dens, (0, 0, 0), m),
                     raw_grid(vdb, "velocity", up, (0, 0, 0), m))
    frame = read_smoke_frame(path, ReadOptions(up_axis="z", fps=24.0))
    world_before = index_to_world(m, [1, 2, 7])
    hot = np.argwhere(frame.density.data == 1.0)[0] + frame.density.offset
    world_after = index_to_world(frame.density.matrix, hot)
    np.testing.assert_allclose(world_after, (world_before[0], world_before[2], -world_before[1]))
    np.testing.assert_allclose(frame.velocity.data[0, 0, 0], (0.0, 1.0, 0.0), atol=1e-6)
    out = write_smoke_frame(tmp_path / "back.vdb", frame, style="blender")
    back = read_grid(out, "density")
    np.testing.assert_allclose(index_to_world(back.matrix, np.argwhere(back.data == 1.0)[0]
                                              + back.offset), world_before, atol=1e-9)
    vel = read_grid(out, "velocity")
    np.testing.assert_allclose(vel.data[0, 0, 0], (0.0, 0.0, 2.4), rtol=1e-5, atol=1e-6)


def test_houdini_blender_round_trip_keeps_values(write_raw, vdb, tmp_path):
    m = scaled_matrix(0.25, (-1, 0, 2))
    rng = np.random.default_rng(3)
    vel = rng.normal(size=(12, 12, 12, 3)).astype(np.float32)
    path = write_raw("h.vdb", raw_grid(vdb, "density", DENS, matrix=m),
                     raw_grid(vdb, "vel", vel, matrix=m),
                     raw_grid(vdb, "temperature", DENS * 3, matrix=m))
    frame = read_smoke_frame(path, ReadOptions(), extras="all")
    blender = write_smoke_frame(tmp_path / "b.vdb", frame, style="blender", split_vectors=True)
    names = sorted(g for g in (i.name for i in __import__("billow").list_grids(blender)))
    assert names == ["density", "heat", "velocity.x", "velocity.y", "velocity.z"]
    again = read_smoke_frame(blender, ReadOptions(up_axis="z"), extras="all")
    houdini = write_smoke_frame(tmp_path / "h2.vdb", again, style="houdini")
    for name in ("density", "vel", "temperature"):
        a, b = read_grid(path, name), read_grid(houdini, name)
        np.testing.assert_allclose(b.matrix, a.matrix, atol=1e-12)
        lo = np.array(b.offset) - np.array(a.offset)
        np.testing.assert_allclose(b.data, a.data[lo[0]:lo[0] + b.shape[0],
                                                  lo[1]:lo[1] + b.shape[1],
                                                  lo[2]:lo[2] + b.shape[2]], rtol=1e-5, atol=1e-6)


def test_empty_density_frame(write_raw, vdb):
    path = write_raw("e.vdb", raw_grid(vdb, "density", np.zeros((4, 4, 4), np.float32)),
                     raw_grid(vdb, "vel", constant_velocity((4, 4, 4), (1, 0, 0))))
    frame = read_smoke_frame(path)
    assert isinstance(frame, SmokeFrame) and frame.density.data.size == 0
    assert frame.velocity.data.shape == (0, 0, 0, 3)
