"""`billow steady` end to end on upres-like VDB sequences: real OpenVDB files, the real CLI."""

from __future__ import annotations

import numpy as np
from billow.io import Volume, list_grids, read_grid, write_vdb

from ..conftest import scaled_matrix
from .cli_helpers import assert_one_line_error, billow, billow_here

N = 20  # high-res cells per axis (5 input cells of 4)


def write_upres_like(folder, frames=5, velocity=True, seed=0):
    """What `billow upres --write-velocity` writes: density with billow_scale and its
    threshold, `vel` in world/s; the sub-cell detail is re-drawn every frame (boiling)."""
    rng = np.random.default_rng(seed)
    m = scaled_matrix(0.05)
    x = np.linspace(-1, 1, N)
    blob = np.exp(-3 * (x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2))
    meta = {"billow_scale": 4, "billow_density_threshold": 1e-4, "billow_model": "test"}
    for f in range(1, frames + 1):
        rho = (blob * (0.6 + 0.8 * rng.random((N, N, N)))).astype(np.float32)
        grids = [Volume("density", rho, (0, 0, 0), m, metadata=meta)]
        if velocity:
            vel = np.zeros((N, N, N, 3), np.float32)
            vel[..., 1] = 0.12  # world/s: 0.1 high-res cells per frame at 24 fps
            grids.append(Volume("vel", vel, (0, 0, 0), m,
                                metadata={"billow_velocity_units": "world/s", "billow_fps": 24.0}))
        write_vdb(folder / f"up.{f:04d}.vdb", grids)
    return folder / "up.####.vdb"


def _fine_change(a, b):
    d = (b - a).reshape(5, 4, 5, 4, 5, 4)
    return float(np.sqrt(((d - d.mean(axis=(1, 3, 5), keepdims=True)) ** 2).mean()))


def test_steady_calms_the_detail_keeps_mass_and_copies_velocity(tmp_path):
    src = write_upres_like(tmp_path / "up")
    r = billow("steady", src, tmp_path / "calm/c.####.vdb", "--taps", "1,1,1",
               "--progress", "json")
    assert r.code == 0, r.err
    assert sum('"event": "frame"' in line for line in r.out.splitlines()) == 5
    raw = [read_grid(tmp_path / f"up/up.{f:04d}.vdb", "density").data for f in range(1, 6)]
    out = [read_grid(tmp_path / f"calm/c.{f:04d}.vdb", "density") for f in range(1, 6)]
    assert out[0].metadata["billow_steady_frames"] == 1 and out[4].metadata[
        "billow_steady_frames"] == 3
    assert out[4].metadata["billow_steady_taps"] == "1,1,1"
    assert out[4].metadata["billow_model"] == "test"  # the upres's own metadata is kept
    dense = []
    for o in out:
        d = np.zeros((N, N, N), np.float32)
        lo = np.array(o.offset)
        d[tuple(slice(a, a + n) for a, n in zip(lo, o.shape))] = o.data
        dense.append(d)
    # no history: the frame itself, below the upres's background threshold left out
    np.testing.assert_array_equal(dense[0], np.where(raw[0] > 1e-4, raw[0], 0))
    for t in range(2, 5):
        assert abs(dense[t].sum() / raw[t].sum() - 1) < 0.01
    before = np.mean([_fine_change(raw[t - 1], raw[t]) for t in (3, 4)])
    after = np.mean([_fine_change(dense[t - 1], dense[t]) for t in (3, 4)])
    assert after < 0.6 * before
    v_in = read_grid(tmp_path / "up/up.0003.vdb", "vel")
    v_out = read_grid(tmp_path / "calm/c.0003.vdb", "vel")
    assert np.array_equal(v_in.data, v_out.data) and v_in.offset == v_out.offset
    assert sorted(g.name for g in list_grids(tmp_path / "calm/c.0003.vdb")) == ["density", "vel"]


def test_a_farm_chunk_equals_the_sequential_run(tmp_path):
    """Frame t reads t-2..t from disk, so the second chunk needs no state of the first."""
    src = write_upres_like(tmp_path / "up", seed=1)
    assert billow_here("steady", src, tmp_path / "all/a.####.vdb", "--progress", "none").code == 0
    r = billow_here("steady", src, tmp_path / "chunk/a.####.vdb", "--chunk", "2",
                    "--chunk-index", "1", "--progress", "none")
    assert r.code == 0, r.err
    assert sorted(p.name for p in (tmp_path / "chunk").iterdir()) == ["a.0003.vdb", "a.0004.vdb"]
    for f in (3, 4):
        a = read_grid(tmp_path / f"all/a.{f:04d}.vdb", "density")
        b = read_grid(tmp_path / f"chunk/a.{f:04d}.vdb", "density")
        assert a.offset == b.offset and np.array_equal(a.data, b.data)


def test_steady_refuses_bad_input_in_one_line(tmp_path):
    src = write_upres_like(tmp_path / "novel", frames=3, velocity=False)
    r = billow_here("steady", src, tmp_path / "o/o.####.vdb")
    assert_one_line_error(r, 2, "no velocity grid", "--write-velocity")
    assert not (tmp_path / "o").exists()
    src = write_upres_like(tmp_path / "up", frames=3)
    assert_one_line_error(billow_here("steady", src, tmp_path / "o/o.####.vdb", "--taps",
                                      "0,1"), 2, "--taps")
    assert_one_line_error(billow_here("steady", src, src), 2)  # would overwrite its input
    assert len(list((tmp_path / "up").iterdir())) == 3
