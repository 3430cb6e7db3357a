"""Progress parsing and error mapping (no Houdini, no engine)."""

from __future__ import annotations

import signal

import pytest

from billow_houdini.vendor.billow_client import ProgressReader, error_line, parse_line
from billow_houdini.errors import EngineCancelled, EngineError, error_from_exit, error_from_launch

STREAM = """{"event": "start", "total": 4, "task": "upres"}
{"event": "frame", "done": 1, "total": 4, "elapsed": 2.0, "frame": 11, "file": "/o/hi.0011.vdb"}
some library warning
{"event": "message", "text": "frame 12: no active density; written as empty"}

{"event": "frame", "done": 2, "total": 4, "elapsed": 4.0, "frame": 12, "file": "/o/hi.0012.vdb"}
{"event": "frame", "done": 3, "total": 4, "elapsed": 6.0, "frame": 13, "fi
"""


def test_progress_stream():
    r = ProgressReader()
    assert r.state.fraction == 0.0 and "starting" in r.state.status()
    events = [r.feed(line) for line in STREAM.splitlines()]
    s = r.state
    assert [e["event"] for e in events if e] == ["start", "frame", "log", "message",
                                                 "frame", "log"]
    assert (s.total, s.done, s.frame) == (4, 2, 12)
    assert s.fraction == 0.5 and s.eta == pytest.approx(4.0)
    assert s.files == ["/o/hi.0011.vdb", "/o/hi.0012.vdb"]
    assert "some library warning" in s.messages and any("no active" in m for m in s.messages)
    assert s.status() == "billow upres: frame 12 (2/4), 4.0 s, ~4.0 s left"
    r.feed('{"event": "end", "done": 4, "total": 4, "elapsed": 130.0}')
    assert s.finished and s.fraction == 1.0 and s.status() == \
        "billow upres: done, 4 frame(s) in 2 min 10 s"


def test_parse_line_edge_cases():
    assert parse_line("   ") is None
    assert parse_line('{"no_event": 1}') == {"event": "log", "text": '{"no_event": 1}'}
    assert parse_line("[1, 2]")["event"] == "log"
    # all frames skipped (--skip-existing): zero total is not a division by zero
    r = ProgressReader()
    r.feed('{"event": "start", "total": 0, "task": "upres"}')
    r.feed('{"event": "end", "done": 0, "total": 0, "elapsed": 0.1}')
    assert r.state.fraction == 1.0


STDERR_INPUT = ("[upres] 1/2 frame=1\n"
                "billow upres: error: /c/pyro.####.vdb: missing frames 3-4 (of 1-4)\n")


def test_engine_errors_become_one_line():
    assert error_line(STDERR_INPUT) == "/c/pyro.####.vdb: missing frames 3-4 (of 1-4)"
    e = error_from_exit(2, STDERR_INPUT, ["billow", "upres"])
    assert str(e).startswith("/c/pyro.####.vdb: missing frames 3-4") and "check the input" in str(e)
    assert e.exit_code == 2 and e.argv == ["billow", "upres"]
    e = error_from_exit(3, "billow upres: error: /ro/x.vdb: permission denied\n")
    assert "permission denied" in str(e) and "writable" in str(e)
    e = error_from_exit(1, "Traceback (most recent call last):\n  File x\nRuntimeError: boom\n")
    assert "boom" in str(e) and "exit 1" in str(e) and "Traceback" in e.detail
    assert isinstance(error_from_exit(130, ""), EngineCancelled)
    killed = error_from_exit(-signal.SIGKILL, "")
    assert "SIGKILL" in str(killed) and "out of memory" in str(killed)
    assert "exit 7" in str(error_from_exit(7, ""))


def test_launch_errors_say_how_to_fix():
    e = error_from_launch(FileNotFoundError(2, "No such file"), ["/nope/billow", "upres"])
    assert isinstance(e, EngineError) and "$BILLOW_EXECUTABLE" in str(e)
    assert "/nope/billow" in str(e)
    assert "not executable" in str(error_from_launch(PermissionError(13, "denied"), ["x"]))
