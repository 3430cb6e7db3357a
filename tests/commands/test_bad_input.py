"""Every expected failure: one clear line, a distinct exit code, no traceback, no partial file."""

from __future__ import annotations

import numpy as np
import pytest

from billow.errors import EXIT_INPUT, EXIT_OUTPUT
from billow.samples import PLUME

from ..conftest import blob, raw_grid, scaled_matrix
from .cli_helpers import assert_one_line_error, billow


def good_frame(write_raw, vdb, name, **extra):
    m = scaled_matrix(0.1)
    grids = [raw_grid(vdb, "density", blob((8, 8, 8), (4, 4, 4), 2), matrix=m),
             raw_grid(vdb, "vel", np.ones((8, 8, 8, 3), np.float32), matrix=m)]
    grids += [raw_grid(vdb, k, v, matrix=m) for k, v in extra.items()]
    return write_raw(name, *grids)


def files_in(folder):
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_nonexistent_path(tmp_path):
    assert_one_line_error(billow("info", tmp_path / "nope.vdb"), EXIT_INPUT, "nope.vdb",
                          "no such file")


def test_empty_pattern(tmp_path):
    assert_one_line_error(billow("info", tmp_path / "smoke.####.vdb"), EXIT_INPUT,
                          "no files match")


def test_not_a_vdb(tmp_path):
    (tmp_path / "notes.vdb").write_text("these are my notes, not voxels")
    assert_one_line_error(billow("info", tmp_path / "notes.vdb"), EXIT_INPUT, "not a VDB file")


@pytest.mark.parametrize("keep", [60, 100, 2000, -10])
def test_truncated_vdb(tmp_path, keep):
    data = PLUME.read_bytes()
    (tmp_path / "cut.vdb").write_bytes(data[:keep])
    for command in (["info"], ["convert"]):
        args = [*command, tmp_path / "cut.vdb"] + ([tmp_path / "out.vdb"] if command == [
            "convert"] else [])
        assert_one_line_error(billow(*args), EXIT_INPUT, "cut.vdb", "truncated")
    assert not (tmp_path / "out.vdb").exists()


def test_missing_frame_in_the_middle(write_raw, vdb, tmp_path):
    for f in (1, 2, 4, 5):
        good_frame(write_raw, vdb, f"s/smoke.{f:04d}.vdb")
    r = billow("convert", tmp_path / "s/smoke.####.vdb", tmp_path / "o/smoke.####.vdb",
               "--frames", "1-5")
    assert_one_line_error(r, EXIT_INPUT, "missing frame 3")
    assert files_in(tmp_path / "o") == []


def test_no_density_grid(write_raw, vdb, tmp_path):
    path = write_raw("nod.vdb", raw_grid(vdb, "fuel", blob((8, 8, 8), (4, 4, 4), 2)))
    assert_one_line_error(billow("convert", path, tmp_path / "o.vdb"), EXIT_INPUT,
                          "nod.vdb", "no density grid", "--density-grid")
    assert not (tmp_path / "o.vdb").exists()


def test_ambiguous_velocity(write_raw, vdb, tmp_path):
    path = good_frame(write_raw, vdb, "amb.vdb",
                      velocity=np.ones((8, 8, 8, 3), np.float32))
    r = billow("convert", path, tmp_path / "o.vdb")
    assert_one_line_error(r, EXIT_INPUT, "ambiguous velocity", "--velocity-grid")
    r = billow("convert", path, tmp_path / "o.vdb", "--velocity-grid", "velocity")
    assert_one_line_error(r, EXIT_INPUT, "more than one grid would be written as 'vel'", "--drop")
    assert not (tmp_path / "o.vdb").exists()
    r = billow("convert", path, tmp_path / "o.vdb", "--velocity-grid", "velocity", "--drop", "vel")
    assert r.code == 0, r.err


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_voxels_stop_the_sequence_cleanly(write_raw, vdb, tmp_path, bad):
    for f in (1, 2, 3):
        good_frame(write_raw, vdb, f"s/smoke.{f:04d}.vdb")
    grid = raw_grid(vdb, "density", blob((8, 8, 8), (4, 4, 4), 2), matrix=scaled_matrix(0.1))
    grid.getAccessor().setValueOn((3, 4, 5), float(bad))
    write_raw("s/smoke.0002.vdb", grid)
    r = billow("convert", tmp_path / "s/smoke.####.vdb", tmp_path / "o/smoke.####.vdb")
    assert_one_line_error(r, EXIT_INPUT, "smoke.0002.vdb", "'density'", "NaN or Inf",
                          "(3, 4, 5)")
    # frame 1 is complete, frame 2 was never started, no temporary files remain
    assert files_in(tmp_path / "o") == ["smoke.0001.vdb"]


def test_unwritable_output(tmp_path):
    (tmp_path / "a_file").write_text("x")
    r = billow("convert", PLUME, tmp_path / "a_file" / "out.vdb")
    assert_one_line_error(r, EXIT_OUTPUT, "cannot create output folder")


def test_sequence_into_single_file_is_refused(write_raw, vdb, tmp_path):
    good_frame(write_raw, vdb, "s/smoke.0001.vdb")
    r = billow("convert", tmp_path / "s/smoke.####.vdb", tmp_path / "single.vdb")
    assert_one_line_error(r, EXIT_INPUT, "needs a frame token")


def test_bad_option_values(tmp_path):
    r = billow("convert", PLUME, tmp_path / "o.vdb", "--rename", "oops")
    assert_one_line_error(r, EXIT_INPUT, "--rename 'oops'")
    assert_one_line_error(billow("info", PLUME, "--frames", "1-3"), EXIT_INPUT, "single file")
    assert_one_line_error(billow("info", "x.####.vdb", "--frames", "9-1"), EXIT_INPUT,
                          "frame range '9-1'")
