"""The warm engine: `billow serve` and the add-on's client (plain Python, no Blender), and the
add-on's VDB header reader that decides the up axis and the pass-through grids."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from billow.io import Volume, read_grid, write_vdb

from plugin_blender.core.command import UpresRequest, upres_argv
from plugin_blender.core.job import EngineJob
from plugin_blender.core.server import EngineServer, ServerJob
from plugin_blender.core.vdb_meta import VdbInfoError, auto_up_axis, read_info, roles_present
from tests.conftest import blob, scaled_matrix

PREFIX = [sys.executable, "-m", "billow"]
ENV = dict(os.environ, PYTHONUNBUFFERED="1")  # keeps PYTHONPATH: this checkout's engine


def _frame(path, metadata=None):
    shape = (12, 10, 10)
    d = blob(shape, (6, 5, 5), 2.5)
    v = np.zeros(shape + (3,), np.float32)
    v[d > 0] = (0.0, 2.4, 0.0)
    m = scaled_matrix(0.1)
    return write_vdb(path, [Volume("density", d, (0, 0, 0), m, metadata=dict(metadata or {})),
                            Volume("vel", v, (0, 0, 0), m, vector_type="contravariant relative"),
                            Volume("heat", d, (0, 0, 0), m)], metadata=metadata or {})


def test_warm_engine_answers_like_a_cold_run(tmp_path, toy_models):
    """The same command line through `billow serve` writes the same voxels as a cold run; bad
    requests get one-line errors and the server keeps serving; end of input ends it."""
    src = _frame(tmp_path / "in.vdb")
    model = str(toy_models / "toy_x4.onnx")

    def argv(out, detail=2.0):
        return upres_argv(PREFIX, UpresRequest(str(src), str(out), None, model, 4, detail,
                                               None, "cpu", "y", 24.0))

    cold = EngineJob(argv(tmp_path / "cold.vdb"), env=ENV).start().wait(120)
    assert cold.state == "done", cold.error
    server = EngineServer(PREFIX, ("--model", model), env=ENV).start()
    try:
        assert server.wait_ready(120)
        warm = ServerJob(server, argv(tmp_path / "warm.vdb")[len(PREFIX):]).start().wait(120)
        assert warm.state == "done" and warm.done == 1, warm.error
        np.testing.assert_array_equal(read_grid(tmp_path / "warm.vdb", "density").data,
                                      read_grid(tmp_path / "cold.vdb", "density").data)
        missing = ServerJob(server, ["upres", str(tmp_path / "nope.vdb"),
                                     str(tmp_path / "o.vdb")]).start().wait(60)
        assert missing.state == "failed" and "nope.vdb: no such file" in missing.error
        other = ServerJob(server, ["train", "x"]).start().wait(60)
        assert other.state == "failed" and "only `upres`" in other.error
        bad_flag = ServerJob(server, ["upres", "--bogus"]).start().wait(60)
        assert bad_flag.state == "failed" and "required" in bad_flag.error
        again = ServerJob(server, argv(tmp_path / "again.vdb", 0.0)[len(PREFIX):]).start()
        assert again.wait(120).state == "done"  # still serving after the errors
        pid = server.proc.pid
    finally:
        server.close()
    assert server.proc.returncode == 0 and not server.alive
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_serve_protocol_lines(tmp_path):
    """Raw protocol: `ready` first, one `result` per request line, nothing else on stdout."""
    lines = "\n".join([json.dumps({"id": 1, "op": "ping"}), "not json",
                       json.dumps({"id": 2, "op": "shutdown"}), json.dumps({"id": 3})]) + "\n"
    proc = subprocess.run([*PREFIX, "serve", "--no-preload"], input=lines, env=ENV,
                          capture_output=True, text=True, timeout=120)
    out = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert proc.returncode == 0
    assert [o["event"] for o in out] == ["ready", "result", "result", "result"]
    assert out[1] == {"event": "result", "id": 1, "ok": True, "frames": 0, "elapsed": 0.0}
    assert out[2]["ok"] is False and "not a JSON line" in out[2]["error"]
    assert out[3]["id"] == 2 and out[3]["ok"]  # shutdown answers, and nothing after it


def test_vdb_header_reader(tmp_path):
    path = _frame(tmp_path / "y.vdb", {"billow_up_axis": "y"})
    info = read_info(path)
    assert info.grids == ["density", "vel", "heat"]
    assert info.meta("billow_up_axis") == "y"
    assert roles_present(info.grids) == {"temperature"}
    assert read_info(_frame(tmp_path / "plain.vdb")).meta("billow_up_axis") is None
    (tmp_path / "bad.vdb").write_bytes(b"nope")
    with pytest.raises(VdbInfoError, match="bad.vdb: not a VDB file"):
        read_info(tmp_path / "bad.vdb")


@pytest.mark.parametrize("declared, rot_x_deg, expected", [
    ("y", 0, ("y", "cache metadata")),
    ("z", 90, ("z", "cache metadata")),
    (None, 90, ("y", "object rotation")),
    (None, 0, ("z", "Blender default")),
])
def test_auto_up_axis(declared, rot_x_deg, expected):
    c, s = np.cos(np.radians(rot_x_deg)), np.sin(np.radians(rot_x_deg))
    m = [[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1]]
    assert auto_up_axis(declared, m) == expected
