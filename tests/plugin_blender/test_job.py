"""The engine as a worker subprocess, with the real engine: progress arrives as status updates,
errors carry the engine's message, and a cancel mid-run leaves only complete frames."""

from __future__ import annotations

import sys
import time

import pytest

from plugin_blender.core.command import UpresRequest, engine_prefix, upres_argv
from plugin_blender.core.frames import discover
from plugin_blender.core.job import EngineJob


def _argv(engine, seq, out, model, **kw):
    return upres_argv(engine_prefix(engine), UpresRequest(str(seq), str(out), model=str(model),
                                                          **kw))


def test_job_runs_and_reports_progress(tmp_path, smoke_seq, toy_models, engine_executable):
    out = tmp_path / "out" / "s_x4.####.vdb"
    job = EngineJob(_argv(engine_executable, smoke_seq, out, toy_models / "toy_x4.onnx",
                          frames=(2, 3)), str(out))
    seen = []
    job.start()
    while not (snap := job.status.snapshot()).finished:  # what the modal timer does
        seen.append((snap.done, snap.total))
        time.sleep(0.05)
    assert snap.state == "done", snap.error
    assert (snap.done, snap.total, snap.returncode) == (2, 2, 0)
    assert discover(str(out)) == [2, 3]
    assert [p.rsplit("/", 1)[1] for p in snap.files] == ["s_x4.0002.vdb", "s_x4.0003.vdb"]
    assert seen[0] == (0, 0) and all(d <= 2 for d, _ in seen)


def test_job_failure_carries_the_engines_message():
    """The engine's error contract (one stderr line, exit 2); the real engine's message reaches
    a Blender report in test_extension.py."""
    fake = ("import sys; print('{\"event\": \"start\", \"total\": 3}'); "
            "print('billow upres: error: /c/smoke.0001.vdb: not a VDB file', file=sys.stderr); "
            "sys.exit(2)")
    snap = EngineJob([sys.executable, "-c", fake]).start().wait(timeout=60)
    assert snap.state == "failed" and snap.returncode == 2 and snap.total == 3
    assert snap.error == "/c/smoke.0001.vdb: not a VDB file"


def test_job_with_a_missing_engine_fails_cleanly(tmp_path):
    snap = EngineJob([str(tmp_path / "billow"), "--version"]).start().wait(timeout=10)
    assert snap.state == "failed" and "cannot run the engine" in snap.error


def test_cancel_kills_an_engine_that_ignores_interrupts_and_removes_temporaries(tmp_path):
    """A stubborn engine (ignores the cancel, mid-way through writing a frame's temporary file):
    killed after the grace period; its temporary file removed, the finished frame kept. The
    real engine is cancelled through the modal operator in test_extension.py."""
    out = tmp_path / "out" / "s_x4.####.vdb"
    out.parent.mkdir()
    stubborn = (
        "import json, os, signal, sys, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"d = {str(out.parent)!r}\n"
        "open(os.path.join(d, 's_x4.0001.vdb'), 'w').write('done')\n"
        "print(json.dumps({'event': 'frame', 'done': 1, 'total': 3, 'frame': 1}), flush=True)\n"
        "open(os.path.join(d, f'.s_x4.0002.vdb.tmp-{os.getpid()}.vdb'), 'w').write('half')\n"
        "time.sleep(60)\n")
    job = EngineJob([sys.executable, "-c", stubborn], str(out), grace=0.5).start()
    while job.status.snapshot().done < 1:
        assert not job.status.snapshot().finished, job.status.snapshot().error
        time.sleep(0.02)
    t0 = time.monotonic()
    job.cancel()
    assert time.monotonic() - t0 < 5
    assert job.status.snapshot().state == "cancelled" and job.proc.returncode != 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["s_x4.0001.vdb"]


@pytest.mark.parametrize("when", ["before", "after"])
def test_cancel_outside_a_run_is_harmless(tmp_path, when):
    job = EngineJob([sys.executable, "-c", "print('{\"event\": \"end\"}')"])
    if when == "before":
        job.cancel()
        assert job.status.snapshot().state == "idle"
    else:
        assert job.start().wait(timeout=60).state == "done"
        job.cancel()
        assert job.status.snapshot().state == "done"
