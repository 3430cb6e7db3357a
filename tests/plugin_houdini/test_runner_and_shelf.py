"""The subprocess runner with stand-in engines (fast), and the shelf tool's decisions."""

from __future__ import annotations

import sys
import time

import pytest

from billow_houdini.errors import EngineCancelled, EngineError
from billow_houdini.runner import run_engine
from billow_houdini.shelf_logic import is_cache_type, pick_cache_path


def fake_engine(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_runner_follows_progress_and_keeps_stderr():
    code = ("import json, sys\n"
            "print(json.dumps({'event': 'start', 'total': 2, 'task': 'upres'}), flush=True)\n"
            "for i in (1, 2):\n"
            "    print(json.dumps({'event': 'frame', 'frame': i, 'done': i, 'total': 2, "
            "'elapsed': i}), flush=True)\n"
            "print('a warning', file=sys.stderr)\n"
            "print(json.dumps({'event': 'end', 'done': 2, 'total': 2, 'elapsed': 2}))\n")
    fractions = []
    result = run_engine(fake_engine(code), lambda s: fractions.append(s.fraction))
    assert result.state.finished and result.state.done == 2 and "a warning" in result.stderr
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_runner_maps_the_exit_code_and_the_error_line():
    code = ("import sys\nprint('billow upres: error: /c/x.vdb: no grid density', "
            "file=sys.stderr)\nsys.exit(2)\n")
    with pytest.raises(EngineError, match="no grid density") as info:
        run_engine(fake_engine(code))
    assert info.value.exit_code == 2


def test_runner_cancel_stops_a_busy_engine_quickly():
    start = time.perf_counter()
    with pytest.raises(EngineCancelled):
        run_engine(fake_engine("import time\ntime.sleep(60)\n"),
                   should_cancel=lambda: time.perf_counter() - start > 0.3, grace=2)
    assert time.perf_counter() - start < 10


def test_runner_strips_houdini_python_from_the_environment(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/hfs/houdini/python3.11libs")
    code = "import os, sys\nsys.exit(3 if 'PYTHONPATH' in os.environ else 0)\n"
    assert run_engine(fake_engine(code)).state.done == 0


@pytest.mark.parametrize("type_name, parms, expected", [
    ("filecache::2.0", {"file": "$HIP/geo/pyro.$F4.vdb"}, "$HIP/geo/pyro.$F4.vdb"),
    ("labs::filecache::1.0", {"file": "", "sopoutput": "$HIP/c/smoke.$F4.vdb"},
     "$HIP/c/smoke.$F4.vdb"),
    ("file", {"file": "$JOB/smoke.####.VDB"}, "$JOB/smoke.####.VDB"),
    ("filecache::2.0", {"file": "$HIP/geo/pyro.$F4.bgeo.sc"}, None),  # not a VDB cache
    ("pyrosolver", {"file": "x.vdb"}, None),  # not a cache node: read the input
])
def test_shelf_tool_finds_the_vdb_cache(type_name, parms, expected):
    assert pick_cache_path(type_name, parms) == expected


def test_cache_types():
    assert is_cache_type("filecache::2.0") and is_cache_type("file")
    assert not is_cache_type("dopnet") and not is_cache_type("billow::upres::1.0")
