"""The extension's plain-Python core, without Blender: command building, progress parsing,
frame mapping, detail masks, engine lookup."""

from __future__ import annotations

import ast
import itertools
import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_blender.core import command, frames, mask, progress
from plugin_blender.vendor import billow_client
from plugin_blender.core.command import EngineNotFound, UpresRequest, engine_prefix, upres_argv

from .conftest import PLUGIN

# --- layering ------------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_neither_blender_nor_the_engine():
    for path in (PLUGIN / "core").glob("*.py"):
        bad = _imports(path) & {"bpy", "mathutils", "bpy_extras", "billow", "torch", "numpy"}
        assert not bad, f"{path.name} imports {bad}"


def test_no_module_of_the_extension_imports_torch_or_the_engine():
    for path in PLUGIN.rglob("*.py"):
        if "docs" in path.parts:
            continue
        assert not _imports(path) & {"torch", "billow", "onnxruntime"}, path


def test_package_root_imports_without_blender():
    code = ("import sys, plugin_blender, plugin_blender.core.job, plugin_blender.core.mask; "
            "print(sorted({'bpy', 'torch', 'billow'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                         text=True,
                         cwd=str(PLUGIN.parent), timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


# --- command building ----------------------------------------------------------------------


def test_upres_argv_full():
    req = UpresRequest("/c/smoke.####.vdb", "/o/s_x4.####.vdb", frames=(1, 2, 3, 7),
                       model="/m/toy.onnx", scale=8, detail=1.5,
                       mask="sphere:0,0,1,0.5,0.1", device="cuda", fps=25.0, time_scale=0.5,
                       skip_existing=True)
    argv = upres_argv(["billow"], req)
    assert argv[:4] == ["billow", "upres", "/c/smoke.####.vdb", "/o/s_x4.####.vdb"]
    opts = dict(itertools.pairwise(argv[4:]))
    assert opts["--scale"] == "8" and opts["--velocity-scale"] == "1.5"
    assert opts["--up-axis"] == "z" and opts["--progress"] == "json"
    assert opts["--frames"] == "1-3,7" and opts["--model"] == "/m/toy.onnx"
    assert opts["--mask"] == "sphere:0,0,1,0.5,0.1" and opts["--device"] == "cuda"
    assert opts["--fps"] == "25" and opts["--time-scale"] == "0.5"
    assert "--skip-existing" in argv


def test_upres_argv_minimal_leaves_engine_defaults():
    argv = upres_argv(["py", "-m", "billow"], UpresRequest("in.vdb", "out.vdb"))
    assert argv[:3] == ["py", "-m", "billow"]
    for flag in ("--frames", "--model", "--mask", "--fps", "--time-scale", "--skip-existing"):
        assert flag not in argv


@pytest.mark.parametrize("bad", [{"scale": 3}, {"detail": -1.0}, {"frames": ()}])
def test_upres_argv_rejects(bad):
    with pytest.raises(ValueError):
        upres_argv(["billow"], UpresRequest("a", "b", **bad))


def _fake_exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


posix_only = pytest.mark.skipif(os.name != "posix", reason="fake engines are shell scripts")


@posix_only
def test_engine_prefix_forms(tmp_path, monkeypatch):
    exe = _fake_exe(tmp_path / "venv" / "bin" / "billow")
    py = _fake_exe(tmp_path / "venv" / "bin" / "python3.11")
    assert engine_prefix(str(exe)) == [str(exe)]
    assert engine_prefix(str(py)) == [str(py), "-m", "billow"]
    assert engine_prefix(str(tmp_path / "venv")) == [str(exe)]  # an environment folder
    monkeypatch.setenv("PATH", str(exe.parent))
    assert engine_prefix("") == [str(exe)]
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(EngineNotFound, match="not on PATH.*Preferences"):
        engine_prefix("")
    with pytest.raises(EngineNotFound, match="no such file"):
        engine_prefix(str(tmp_path / "missing" / "billow"))
    with pytest.raises(EngineNotFound, match="no billow executable"):
        engine_prefix(str(tmp_path))


def test_engine_env_drops_blenders_python_settings():
    env = command.engine_env({"PYTHONHOME": "/blender/python", "PYTHONPATH": "/x", "HOME": "/h"})
    assert env == {"HOME": "/h", "PYTHONUNBUFFERED": "1"}


@posix_only
def test_check_engine_answers_and_problems(tmp_path):
    """The real engine answers in test_extension.py (the Check Engine button); here its
    answer and its failures, from stand-ins."""
    good = _fake_exe(tmp_path / "good" / "billow")
    good.write_text("#!/bin/sh\necho 'billow 0.1.0'; echo 'Python 3.11.7'\n")
    assert command.check_engine(str(good)) == (True, "billow 0.1.0\nPython 3.11.7")
    ok, text = command.check_engine(str(tmp_path / "nope"))
    assert not ok and "no such file" in text
    bad = _fake_exe(tmp_path / "bin" / "billow")
    bad.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named torch' >&2\nexit 1\n")
    ok, text = command.check_engine(str(bad))
    assert not ok and "No module named torch" in text


# --- progress ------------------------------------------------------------------------------


def test_parse_line():
    assert progress.parse_line('{"event": "frame", "frame": 3}\n') == {"event": "frame",
                                                                      "frame": 3}
    assert progress.parse_line("Warning: something") == {"event": "log",
                                                         "text": "Warning: something"}
    assert progress.parse_line('{"not": "an event"}')["event"] == "log"
    assert progress.parse_line("{broken")["event"] == "log"


def test_status_follows_engine_events():
    s = progress.Status()
    s.set(state="running")
    assert "starting" in s.snapshot().text()
    for line in ['{"event": "start", "total": 4, "task": "upres"}',
                 ('{"event": "frame", "done": 1, "total": 4, "elapsed": 2.0, "frame": 11, '
                  '"file": "/o/a.0011.vdb"}'),
                 '{"event": "message", "text": "frame 12: no active density"}',
                 ('{"event": "frame", "done": 2, "total": 4, "elapsed": 4.0, "frame": 12, '
                  '"file": "/o/a.0012.vdb"}')]:
        s.apply(progress.parse_line(line))
    snap = s.snapshot()
    assert (snap.done, snap.total, snap.frame, snap.fraction) == (2, 4, 12, 0.5)
    assert snap.files == ("/o/a.0011.vdb", "/o/a.0012.vdb")
    assert snap.message == "frame 12: no active density"
    assert snap.text() == "billow upres: frame 12 (2/4), 4 s left - Esc to cancel"
    s.apply({"event": "end", "elapsed": 8.5})
    s.set(state="done")
    assert s.snapshot().text() == "billow upres: 2 frames in 8.5 s"


def test_engine_error_prefers_the_engines_line():
    lines = ["Traceback (most recent call last):", "  ...",
             "billow upres: error: /c/smoke.0003.vdb: grid 'density' is missing", ""]
    assert progress.engine_error(lines, 2) == "/c/smoke.0003.vdb: grid 'density' is missing"
    assert progress.engine_error(["RuntimeError: boom"], 1) == "RuntimeError: boom"
    assert "exit code -9" in progress.engine_error([], -9)


# --- frames --------------------------------------------------------------------------------


def test_pattern_from_file():
    assert frames.pattern_from_file("/c/smoke.0012.vdb") == ("/c/smoke.####.vdb", 12)
    assert frames.pattern_from_file("/c/v2/fluid_data_0007.vdb") == (
        "/c/v2/fluid_data_####.vdb", 7)
    assert frames.pattern_from_file("/c/smoke.vdb") == ("/c/smoke.vdb", None)
    assert frames.file_for("/c/s.####.vdb", 7) == "/c/s.0007.vdb"


def test_discover_and_format(tmp_path):
    for n in (1, 2, 3, 7, 12):
        (tmp_path / f"s.{n:04d}.vdb").write_bytes(b"")
    (tmp_path / ".s.0004.vdb.tmp-12.vdb").write_bytes(b"")
    (tmp_path / "other.0005.vdb").write_bytes(b"")
    assert frames.discover(str(tmp_path / "s.####.vdb")) == [1, 2, 3, 7, 12]
    assert billow_client.format_frames([7, 1, 2, 3, 12, 3]) == "1-3,7,12"  # the vendored one
    assert frames.mantaflow_pattern("/c") == str(Path("/c/data/fluid_data_####.vdb"))


def test_sequence_mapping_matches_blender():
    seq = frames.Sequence(start=10, offset=4, duration=20)  # scene 10 shows file 5
    assert seq.file_frame(10) == 5 and seq.scene_frame(5) == 10
    sub = seq.restricted(8, 12)  # output of files 8..12 keeps the same timing
    assert all(sub.file_frame(f) == seq.file_frame(f) for f in range(40))
    assert sub.scene_frame(8) == sub.start and sub.duration == 5


def test_select_frames():
    seq = frames.Sequence(start=10, offset=0)
    avail = [1, 2, 3, 4, 5]
    assert frames.select_frames(avail, "ALL", seq) == avail
    assert frames.select_frames(avail, "SCENE", seq, scene_range=(11, 12)) == [2, 3]
    assert frames.select_frames(avail, "CUSTOM", seq, custom_range=(13, 99)) == [4, 5]
    assert frames.select_frames(avail, "CURRENT", seq, current=10) == [1]
    assert frames.select_frames(avail, "CURRENT", seq, current=1) == []


def test_clean_name():
    assert frames.clean_name("Smoke.001") == "Smoke_001"
    assert frames.clean_name("...") == "smoke"


# --- masks ---------------------------------------------------------------------------------


def _trs(t=(0, 0, 0), rz=0.0, s=1.0):
    c, n = math.cos(rz), math.sin(rz)
    return [[c * s, -n * s, 0, t[0]], [n * s, c * s, 0, t[1]], [0, 0, s, t[2]], [0, 0, 0, 1]]


def test_sphere_mask_in_cache_space():
    obj = _trs((1, 2, 3), rz=math.pi / 2, s=2.0)  # the smoke object: cache -> Blender world
    empty = _trs((1, 2, 5), s=0.5)
    text = mask.mask_text("SPHERE", 1.0, empty, mask.invert_affine(obj), falloff=0.4)
    kind, values = text.split(":")
    v = [float(x) for x in values.split(",")]
    # (1,2,5) in Blender is 2 units above the object's origin = 1 cache unit up; radius 0.5 /2
    assert kind == "sphere"
    assert v == pytest.approx([0, 0, 1, 0.25, 0.2], abs=1e-6)


def test_box_mask_is_the_bounds_of_the_rotated_cube():
    empty = _trs((0, 0, 0), rz=math.pi / 4)
    text = mask.mask_text("CUBE", 1.0, empty, _trs())
    v = [float(x) for x in text.split(":")[1].split(",")]
    r = math.sqrt(2)
    assert v == pytest.approx([-r, -r, -1, r, r, 1, 0], abs=1e-5)


def test_mask_errors():
    with pytest.raises(mask.MaskError, match="Sphere or Cube"):
        mask.mask_text("PLAIN_AXES", 1.0, _trs(), _trs())
    with pytest.raises(mask.MaskError, match=">= 0"):
        mask.mask_text("SPHERE", 1.0, _trs(), _trs(), falloff=-1)
    with pytest.raises(mask.MaskError, match="zero scale"):
        mask.invert_affine(_trs(s=0.0))


def test_invert_affine():
    m = _trs((1, -2, 3), rz=0.3, s=1.7)
    inv = mask.invert_affine(m)
    eye = mask.matmul(m, inv)
    for i in range(4):
        for j in range(4):
            assert eye[i][j] == pytest.approx(float(i == j), abs=1e-9)
