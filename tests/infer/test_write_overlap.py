"""`upres_sequence` writes frame k on a worker thread while frame k+1 computes: at most one
write in flight, a write's error is the run's one error line and exit code, a frame is
reported only once its file is complete; an error on the next frame lets the write finish,
while a run stopped mid-write (Ctrl-C, SIGTERM) abandons it and keeps whole frames only, and
resumes. Real OpenVDB files, ONNX Runtime and the CLI entry point."""

from __future__ import annotations

import json
import threading
import time

import pytest

from billow.errors import EXIT_OUTPUT, EXIT_TERMINATED, OutputError, Terminated
from billow.io.vdb import vdb_complete

from ..commands.cli_helpers import assert_one_line_error, billow_here
from .test_faults import cli, file_limit, only_error_line, temporaries


def _slow_writes(monkeypatch, *, fail_on: str | None = None, delay: float = 0.3):
    """Wrap the runner's `write_vdb`: each write waits `delay` first (so the next frame's
    compute overlaps it), the one to `fail_on` raises the error a full disk gives; returns the
    log of (thread, output name, writes in flight at its start)."""
    import billow.infer.runner as runner

    real, log, lock, busy = runner.write_vdb, [], threading.Lock(), [0]

    def write(path, grids, **kw):
        with lock:
            busy[0] += 1
            log.append((threading.current_thread().name, path.name, busy[0]))
        try:
            time.sleep(delay)
            if fail_on and path.name == fail_on:
                raise OutputError(f"{path}: cannot write (No space left on device)")
            return real(path, grids, **kw)
        finally:
            with lock:
                busy[0] -= 1

    monkeypatch.setattr(runner, "write_vdb", write)
    return log


def test_frames_are_written_in_the_background_and_reported_once_complete(
        tmp_path, toy_model, smoke_seq, monkeypatch):
    from billow.progress import Progress

    log = _slow_writes(monkeypatch)
    seen, step = [], Progress.step

    def checked_step(self, event="frame", **fields):
        if event == "frame" and "file" in fields:  # the file is whole when its frame is told
            seen.append((fields["frame"], vdb_complete(fields["file"])))
        return step(self, event, **fields)

    monkeypatch.setattr(Progress, "step", checked_step)
    out = tmp_path / "o/hi.####.vdb"
    r = billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "1-4",
                    "--progress", "json")
    assert r.code == 0, r.err
    assert seen == [(f, None) for f in (1, 2, 3, 4)]
    events = [json.loads(line) for line in r.out.splitlines() if line.startswith("{")]
    assert [e["frame"] for e in events if e.get("event") == "frame"] == [1, 2, 3, 4]
    assert all(name != threading.current_thread().name for name, _, _ in log)
    assert [n for _, n, _ in log] == [f"hi.{f:04d}.vdb" for f in (1, 2, 3, 4)]
    assert max(b for _, _, b in log) == 1  # never two writes at once
    assert temporaries(tmp_path / "o") == []


@pytest.mark.parametrize("overlap", [True, False])
def test_a_failing_background_write_is_the_runs_one_error(tmp_path, toy_model, smoke_seq,
                                                          monkeypatch, overlap):
    """The same error, frames and files whether writes overlap or run in turn (the
    benchmark's reference)."""
    import billow.infer.runner as runner

    monkeypatch.setattr(runner, "OVERLAP_WRITES", overlap)
    _slow_writes(monkeypatch, fail_on="hi.0002.vdb")
    r = billow_here("upres", smoke_seq, tmp_path / "o/hi.####.vdb", "--model", toy_model,
                    "--frames", "1-4", "--progress", "none")
    assert_one_line_error(r, EXIT_OUTPUT, "hi.0002.vdb", "No space left")
    written = sorted(p.name for p in (tmp_path / "o").glob("hi.*.vdb"))
    # frame 3 was computing while frame 2 was written; it is not written after the error
    assert written == ["hi.0001.vdb"] and vdb_complete(tmp_path / "o/hi.0001.vdb") is None
    assert temporaries(tmp_path / "o") == []


def test_a_full_disk_in_the_background_write(tmp_path, toy_model, smoke_seq):
    """The real fault, in a real process: a file size limit makes OpenVDB's write short."""
    r = cli("upres", smoke_seq, tmp_path / "o/hi.####.vdb", "--model", toy_model, "--frames",
            "1-3", "--progress", "none", cwd=tmp_path, preexec=file_limit(2000))
    assert r.returncode == EXIT_OUTPUT, r.stderr
    only_error_line(r.stderr, "short write", after_work=True)
    assert list((tmp_path / "o").glob("hi.*.vdb")) == []
    assert temporaries(tmp_path / "o") == []


def _second_frame_fails(monkeypatch, error, log):
    """The runner's `upres_frame` raises `error` on the second frame, while the first one is
    still being written (checked)."""
    import billow.infer.runner as runner

    real, calls = runner.upres_frame, []

    def upres_frame(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            assert log and log[-1][1] == "hi.0001.vdb" and log[-1][2] == 1  # in flight
            raise error
        return real(*a, **kw)

    monkeypatch.setattr(runner, "upres_frame", upres_frame)
    return real


def test_an_error_on_the_next_frame_lets_the_write_in_flight_finish(
        tmp_path, toy_model, smoke_seq, monkeypatch):
    from billow.errors import EXIT_INPUT, InputError

    log = _slow_writes(monkeypatch, delay=0.5)
    _second_frame_fails(monkeypatch, InputError("smoke.0002.vdb: broken on purpose"), log)
    r = billow_here("upres", smoke_seq, tmp_path / "o/hi.####.vdb", "--model", toy_model,
                    "--frames", "1-4", "--progress", "json")
    assert_one_line_error(r, EXIT_INPUT, "broken on purpose")
    first = tmp_path / "o/hi.0001.vdb"
    assert sorted(p.name for p in (tmp_path / "o").glob("hi.*.vdb")) == [first.name]
    assert vdb_complete(first) is None and temporaries(tmp_path / "o") == []
    assert '"frame": 1' in r.out  # the frame that completed is reported


def test_stopped_while_a_frame_is_written_keeps_whole_frames_and_resumes(
        tmp_path, toy_model, smoke_seq, monkeypatch):
    """SIGTERM (or Ctrl-C) reaches only the main thread: the write in flight is abandoned, its
    temporary removed, and the run ends at once with the one line and exit code; resuming
    writes the rest and leaves complete frames alone."""
    import billow.infer.runner as runner

    log = _slow_writes(monkeypatch, delay=0.5)
    real = _second_frame_fails(monkeypatch, Terminated(), log)
    out = tmp_path / "o/hi.####.vdb"
    r = billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "1-4",
                    "--progress", "json")
    assert r.code == EXIT_TERMINATED
    only_error_line(r.err, "terminated by SIGTERM", after_work=True)
    assert list((tmp_path / "o").glob("hi.*.vdb")) == [] and temporaries(tmp_path / "o") == []
    assert '"frame": 1' not in r.out  # abandoned, so not reported as written
    monkeypatch.setattr(runner, "upres_frame", real)
    r = billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "1-2",
                    "--skip-existing", "--progress", "none")
    assert r.code == 0, r.err
    first = tmp_path / "o/hi.0001.vdb"
    kept = first.stat().st_mtime_ns
    r = billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "1-4",
                    "--skip-existing", "--progress", "none")
    assert r.code == 0, r.err
    assert all(vdb_complete(tmp_path / f"o/hi.{f:04d}.vdb") is None for f in (1, 2, 3, 4))
    assert first.stat().st_mtime_ns == kept
