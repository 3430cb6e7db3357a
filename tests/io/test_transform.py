"""The upres transform and unit conversions, checked against physical invariants."""

from __future__ import annotations

import numpy as np
import pytest

from billow.io import Volume, from_cells_per_frame, to_cells_per_frame, upres_matrix
from billow.io.resample import sample_trilinear
from billow.io.transform import index_to_world, world_to_index
from billow.io.units import rotate_up_axis

from ..conftest import blob, scaled_matrix


def centre_of_mass(vol: Volume) -> np.ndarray:
    w = vol.data / vol.data.sum()
    return (vol.cell_centres() * w[..., None]).sum(axis=(0, 1, 2))


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_upsampled_blob_keeps_its_centre_of_mass(factor):
    """A 4x trilinear upsample placed with `upres_matrix` overlays the input: the centre of
    mass moves by far less than an output voxel (a half-voxel shift would move it by 0.5)."""
    m = scaled_matrix(0.3, (0.7, -1.2, 4.0))
    src = Volume("density", blob((16, 16, 16), (6.3, 8.1, 7.6), 2.5), (5, -3, 11), m)
    out_m = upres_matrix(m, factor)
    # output voxels covering the input block exactly: o = f * i + s
    out_off = tuple(factor * o for o in src.offset)
    out_shape = tuple(factor * n for n in src.shape)
    idx = np.stack(np.meshgrid(*[np.arange(n) + o for n, o in zip(out_shape, out_off)],
                               indexing="ij"), axis=-1)
    src_idx = world_to_index(m, index_to_world(out_m, idx)) - np.array(src.offset)
    up = Volume("density", sample_trilinear(src.data, src_idx), out_off, out_m)
    shift = np.abs(centre_of_mass(up) - centre_of_mass(src)) / (0.3 / factor)
    assert shift.max() < 0.05


def test_upres_sub_voxels_are_centred_on_the_input_voxel():
    m = scaled_matrix(1.0)
    out = upres_matrix(m, 4)
    subs = index_to_world(out, [[s, s, s] for s in range(4)])[:, 0]
    np.testing.assert_allclose(subs, [-0.375, -0.125, 0.125, 0.375])
    assert subs.mean() == pytest.approx(0.0)


def test_velocity_units_round_trip_and_values():
    m = scaled_matrix((0.5, 0.25, 0.1))
    vel = Volume("vel", np.array([[[[12.0, 12.0, 12.0]]]], np.float32), (0, 0, 0), m)
    cells = to_cells_per_frame(vel, "world/s", fps=24.0)
    np.testing.assert_allclose(cells.data[0, 0, 0], (1.0, 2.0, 5.0), rtol=1e-6)
    back = from_cells_per_frame(cells, "world/s", fps=24.0)
    np.testing.assert_allclose(back.data, vel.data, rtol=1e-6)
    manta = from_cells_per_frame(cells, "mantaflow", fps=24.0)
    np.testing.assert_allclose(to_cells_per_frame(manta, "mantaflow", 24.0).data, cells.data,
                               rtol=1e-6)


def test_up_axis_rotation_is_a_proper_rotation_of_the_data():
    rng = np.random.default_rng(1)
    m = scaled_matrix(0.2, (1, 2, 3))
    vol = Volume("vel", rng.normal(size=(3, 4, 5, 3)).astype(np.float32), (2, -1, 7), m)
    turned = rotate_up_axis(vol, "z", "y")
    assert turned.shape == (3, 5, 4)
    # every voxel keeps its value (rotated) at the rotated world position
    before = index_to_world(vol.matrix, np.array([2 + 1, -1 + 3, 7 + 4]))
    rot = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float)
    target = world_to_index(turned.matrix, rot @ before) - np.array(turned.offset)
    i = tuple(np.round(target).astype(int))
    np.testing.assert_allclose(target, i, atol=1e-9)
    np.testing.assert_allclose(turned.data[i], rot @ vol.data[1, 3, 4], rtol=1e-6)
    again = rotate_up_axis(turned, "y", "z")
    np.testing.assert_allclose(again.data, vol.data)
    assert again.offset == vol.offset
    np.testing.assert_allclose(again.matrix, vol.matrix, atol=1e-12)
