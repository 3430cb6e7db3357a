"""The warm engine: `billow serve` and the add-on's client (plain Python, no Blender), and the
add-on's VDB header reader that decides the up axis and the pass-through grids."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

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


def _events(lines: list[str]) -> list[tuple]:
    """What a `--progress json` stream says, without timings or folders."""
    from plugin_blender.core.progress import parse_line

    out = []
    for line in lines:
        e = parse_line(line)
        if e["event"] in ("log", "result", "ready"):
            continue
        out.append((e["event"], e.get("frame"), e.get("done"), e.get("total"),
                    os.path.basename(e.get("file") or ""), e.get("frames")))
    return out


def test_warm_sequence_streams_progress_cancels_and_resumes(tmp_path, toy_models):
    """A whole sequence through `billow serve`: the same `--progress json` events as a cold run
    (read by the same parser into the same Status) and the same voxels; a cancel mid-sequence
    stops that request only, leaves complete frames only and the engine answering; a queued
    request cancelled before it runs never writes; --skip-existing resumes the cancelled run."""
    from tests.infer.conftest import smoke_frame

    for f in range(1, 17):  # enough frames that a loaded machine cannot finish before the cancel
        smoke_frame(tmp_path / "in" / f"smoke.{f:04d}.vdb", shift=0.25 * f)
    seq = tmp_path / "in" / "smoke.####.vdb"
    model = str(toy_models / "toy_x4.onnx")

    def argv(out, frames, **kw):
        req = UpresRequest(str(seq), str(tmp_path / out / "s_x4.####.vdb"), frames, model, 4,
                           2.0, None, "cpu", "z", 24.0, **kw)
        return upres_argv(PREFIX, req)

    cold = subprocess.run(argv("cold", (1, 2, 3)), env=ENV, capture_output=True, text=True,
                          timeout=300)
    assert cold.returncode == 0, cold.stderr
    server = EngineServer(PREFIX, ("--model", model), env=ENV).start()
    try:
        assert server.wait_ready(120)
        pid = server.proc.pid
        lines = []
        job = ServerJob(server, argv("warm", (1, 2, 3))[len(PREFIX):])
        seen = []
        rid = server.submit(job.argv, on_event=lambda e: (lines.append(json.dumps(e)),
                                                          job.status.apply(e)))
        while (answer := server.result(rid)) is None:
            snap = job.status.snapshot()
            seen.append((snap.done, snap.total))
            time.sleep(0.02)
        assert answer["ok"] and answer["frames"] == 3, answer
        assert _events(lines) == _events(cold.stdout.splitlines())
        assert [e[0] for e in _events(lines)] == ["start", "frame", "frame", "frame", "end",
                                                 "summary"]
        snap = job.status.snapshot()
        assert (snap.done, snap.total) == (3, 3) and len(snap.files) == 3
        assert all(d <= t for d, t in seen) and seen == sorted(seen)
        for f in (1, 2, 3):
            name = f"s_x4.{f:04d}.vdb"
            np.testing.assert_array_equal(read_grid(tmp_path / "warm" / name, "density").data,
                                          read_grid(tmp_path / "cold" / name, "density").data)

        # cancel mid-sequence; a queued request cancelled before it runs
        long = ServerJob(server, argv("cancel", tuple(range(1, 17)))[len(PREFIX):]).start()
        queued = ServerJob(server, argv("queued", (1,))[len(PREFIX):]).start()
        queued.cancel(wait=False)
        while long.status.snapshot().done < 1:
            assert not long.status.snapshot().finished, long.status.snapshot().error
            time.sleep(0.02)
        long.cancel()
        snap = long.status.snapshot()
        assert snap.state == "cancelled", snap
        assert queued.wait(60).state == "cancelled"
        kept = sorted(p.name for p in (tmp_path / "cancel").iterdir())
        assert not [n for n in kept if n.startswith(".") or "tmp" in n], kept
        assert 1 <= len(kept) < 16 and snap.done <= len(kept), (kept, snap)
        for name in kept:  # what has a final name is a complete frame
            assert read_grid(tmp_path / "cancel" / name, "density").data.max() > 0.1
        assert not (tmp_path / "queued").exists()
        stamps = {n: (tmp_path / "cancel" / n).stat().st_mtime_ns for n in kept}

        # the same engine answers, and resumes the cancelled run
        resumed = ServerJob(server, argv("cancel", tuple(range(1, 17)),
                                         skip_existing=True)[len(PREFIX):]).start().wait(300)
        assert resumed.state == "done", resumed.error
        assert resumed.done == 16 - len(kept) and resumed.total == 16 - len(kept)
        assert len(list((tmp_path / "cancel").iterdir())) == 16
        assert all((tmp_path / "cancel" / n).stat().st_mtime_ns == t for n, t in stamps.items())

        # SIGINT (a terminal's Ctrl+C) cancels the running request only, and nothing when idle
        sig = ServerJob(server, argv("sigint", tuple(range(1, 17)))[len(PREFIX):]).start()
        while sig.status.snapshot().done < 1:
            assert not sig.status.snapshot().finished, sig.status.snapshot().error
            time.sleep(0.02)
        os.kill(pid, signal.SIGINT)
        snap = sig.wait(60)  # not cancelled by the job: "cancelled" is the engine's answer
        assert snap.state == "cancelled" and snap.done < 16, snap
        os.kill(pid, signal.SIGINT)
        time.sleep(0.5)
        after = ServerJob(server, argv("after", (1,))[len(PREFIX):]).start().wait(120)
        assert after.state == "done" and after.done == 1, after.error
        assert server.alive and server.proc.pid == pid
    finally:
        server.close()
    assert server.proc.returncode == 0


def test_request_stdout_keeps_stdout_for_protocol_lines(capsys):
    """While a request runs, its progress lines go on with its id; a library's stray print goes
    to stderr, never into the protocol."""
    import types

    from billow.commands.serve import _RequestStdout

    sent = []
    out = _RequestStdout(types.SimpleNamespace(send=sent.append), 7)
    print(json.dumps({"event": "frame", "done": 1}), file=out)
    print("a stray line", file=out)
    out.write('{"event": "summary", ')  # a line may arrive in pieces
    out.write('"frames": 3}\n')
    assert sent == [{"event": "frame", "done": 1, "id": 7},
                    {"event": "summary", "frames": 3, "id": 7}]
    assert out.frames == 3
    assert capsys.readouterr().err == "a stray line\n"
