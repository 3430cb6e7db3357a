"""`billow sim` and `billow dataset` from the command line: output readable by the VDB reader,
resuming, and bad input as one-line errors with exit codes."""

from __future__ import annotations

import numpy as np
import pytest
from billow.cli import main
from billow.io import ReadOptions, read_smoke_frame
from billow.sim import Solver

from .conftest import needs_native

pytestmark = needs_native


def sim(*args):
    return main(["sim", "--progress", "none", *map(str, args)])


def test_sim_writes_frames_the_reader_understands(tmp_path):
    out = tmp_path / "sim" / "smoke.####.vdb"
    assert sim("--res", 16, "--frames", 3, "--out", out) == 0
    frame = read_smoke_frame(tmp_path / "sim" / "smoke.0003.vdb", ReadOptions())
    lo, hi = frame.density.index_bbox  # the reader loads the active bounding box
    assert min(lo) >= 0 and max(hi) <= 15
    assert frame.source["velocity_units"] == "world/s"
    np.testing.assert_allclose(frame.density.voxel_size, 1 / 16)
    assert float(frame.density.data.max()) > 0.1
    assert np.isfinite(frame.velocity.data).all()
    assert (tmp_path / "sim" / "smoke.sim.json").exists()


def test_sim_2d_is_one_z_slice(tmp_path):
    assert sim("--res", 16, "--dim", 2, "--frames", 2, "--out", tmp_path / "s.####.vdb") == 0
    frame = read_smoke_frame(tmp_path / "s.0002.vdb", ReadOptions())
    lo, hi = frame.density.index_bbox
    assert lo[2] == hi[2] == 0


def test_sim_resumes_exactly(tmp_path):
    """Stopping after 2 frames and resuming gives the same frame 4 as one straight run."""
    a, b = tmp_path / "a" / "s.####.vdb", tmp_path / "b" / "s.####.vdb"
    assert sim("--res", 12, "--frames", 4, "--out", a) == 0
    assert sim("--res", 12, "--frames", 2, "--out", b) == 0
    first = (tmp_path / "b" / "s.0001.vdb").stat().st_mtime_ns
    assert sim("--res", 12, "--frames", 4, "--out", b) == 0
    assert (tmp_path / "b" / "s.0001.vdb").stat().st_mtime_ns == first
    fa = read_smoke_frame(tmp_path / "a" / "s.0004.vdb", ReadOptions())
    fb = read_smoke_frame(tmp_path / "b" / "s.0004.vdb", ReadOptions())
    np.testing.assert_array_equal(fa.density.data, fb.density.data)
    # different settings on the same output are refused, --overwrite replaces
    assert sim("--res", 12, "--frames", 4, "--seed", 3, "--out", b) == 2
    assert sim("--res", 12, "--frames", 1, "--seed", 3, "--out", b, "--overwrite") == 0


@pytest.mark.parametrize("args", [
    ["--res", "2"], ["--res", "5000"], ["--frames", "0"], ["--cfl", "0"],
    ["--boundaries", "wall wall"], ["--tolerance", "2"],
])
def test_sim_bad_input(tmp_path, args, capsys):
    assert sim("--out", tmp_path / "s.####.vdb", *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("billow sim: error:")


def test_sim_needs_a_frame_token(tmp_path):
    assert sim("--res", 8, "--out", tmp_path / "smoke.vdb") == 2


def test_sim_unwritable_output(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = sim("--res", 8, "--frames", 1, "--out", locked / "x" / "s.####.vdb")
    finally:
        locked.chmod(0o700)
    import os
    if os.geteuid() == 0:  # root ignores permissions; /proc cannot be written even by root
        code = sim("--res", 8, "--frames", 1, "--out", "/proc/billow/s.####.vdb")
    assert code == 3


def test_nan_mid_simulation_stops_naming_the_frame(tmp_path, monkeypatch, capsys):
    real = Solver.advance_frame

    def poisoned(self):
        stats = real(self)
        if self.state.frame == 3:
            self.state.density[0, 0, 0] = float("nan")
        return stats

    monkeypatch.setattr(Solver, "advance_frame", poisoned)
    assert sim("--res", 8, "--frames", 5, "--out", tmp_path / "s.####.vdb") == 2
    err = capsys.readouterr().err
    assert "frame 3" in err and "non-finite" in err
    assert (tmp_path / "s.0002.vdb").exists() and not (tmp_path / "s.0003.vdb").exists()


def test_dataset_cli_bad_input(tmp_path, capsys):
    assert main(["dataset", "--out", str(tmp_path), "--res", "30", "--factor", "4"]) == 2
    assert "does not divide" in capsys.readouterr().err
    assert main(["dataset", "--out", "/proc/billow-data", "--res", "16", "--sims", "1",
                 "--frames", "1", "--progress", "none"]) == 3


def test_dataset_cli_small_run(tmp_path):
    assert main(["dataset", "--out", str(tmp_path / "d"), "--res", "16", "--sims", "1",
                 "--frames", "2", "--dim", "2", "--progress", "none"]) == 0
    assert (tmp_path / "d" / "sim_0000.npz").exists()


def test_sim_obstacle_mask(tmp_path, capsys):
    mask = np.zeros((12, 12), bool)
    mask[4:8, 6:8] = True
    np.save(tmp_path / "mask.npy", mask)
    out = tmp_path / "m.####.vdb"
    assert sim("--res", 12, "--dim", 2, "--frames", 2, "--obstacle-mask", tmp_path / "mask.npy",
               "--out", out) == 0
    assert sim("--res", 12, "--frames", 1, "--obstacle-mask", tmp_path / "missing.npy",
               "--out", tmp_path / "n.####.vdb") == 2
    assert sim("--res", 16, "--dim", 2, "--frames", 1, "--obstacle-mask", tmp_path / "mask.npy",
               "--out", tmp_path / "o.####.vdb") == 2  # wrong size
    err = capsys.readouterr().err
    assert "missing.npy" in err and "does not match" in err
