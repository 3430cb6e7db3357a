"""Fixtures for the Blender extension's tests.

Blender (the `bpy` wheel) always runs in a subprocess: OpenVDB objects kept alive in a process
that imported `bpy` abort it at exit, and a fresh process per scenario is how an artist's
Blender meets the extension anyway. Each subprocess gets its own Blender user folder
(BLENDER_USER_RESOURCES) and installs the built extension .zip through Blender's own extension
installer, so the tests exercise what a user installs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugin_blender"
MODULE = "bl_ext.user_default.billow"


def blender_ext_cli() -> Path | None:
    """Blender's own extension tool (`blender_ext.py validate|build`), bundled in the bpy wheel."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if found:
            return found[-1]
    return None


@pytest.fixture(scope="session")
def engine_executable(tmp_path_factory) -> str:
    """The `billow` console script of the environment running the tests; when that script would
    import another checkout's engine (an editable install elsewhere, e.g. from a git worktree),
    a small launcher that runs this checkout's engine with the same Python, in pytest's own
    temporary folder (pytest prunes it; a folder in /tmp would outlive every run)."""
    found = Path(sys.executable).with_name("billow")
    script = str(found) if found.exists() else (shutil.which("billow") or "")
    import billow

    here = Path(billow.__file__).resolve().parents[1]
    if sys.platform == "win32" or here != ROOT / "engine":
        return script
    probe = subprocess.run([sys.executable, "-c", "import billow; print(billow.__file__)"],
                           capture_output=True, text=True, env=_clean_env(), check=False)
    if probe.returncode == 0 and Path(probe.stdout.strip()).resolve().parents[1] == here:
        return script
    launcher = tmp_path_factory.mktemp("engine") / "billow"
    launcher.write_text(f"#!/bin/sh\nPYTHONPATH={here} exec {sys.executable} -m billow \"$@\"\n")
    launcher.chmod(0o755)
    return str(launcher)


def _clean_env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    cli = blender_ext_cli()
    if cli is None:
        pytest.skip("Blender's bpy wheel is not installed (pip install bpy)")
    out = tmp_path_factory.mktemp("ext")
    proc = subprocess.run([sys.executable, str(cli), "build", "--source-dir", str(PLUGIN),
                           "--output-dir", str(out)], check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (zip_path,) = out.glob("*.zip")
    return zip_path


PRELUDE = """
import bpy, json, sys
bpy.ops.wm.read_factory_settings(use_empty=True)
_r = bpy.ops.extensions.package_install_files(filepath={zip!r}, repo="user_default",
                                               enable_on_install=True)
assert _r == {{"FINISHED"}}, _r
PREFS = bpy.context.preferences.addons[{module!r}].preferences
PREFS.engine = {engine!r}
PREFS.model_folder = {models!r}
def emit(obj):
    print("RESULT " + json.dumps(obj), flush=True)
"""


@pytest.fixture
def run_blender(extension_zip, tmp_path, toy_models, engine_executable):
    """run_blender(script) -> the dict the script passed to emit(); the extension is installed
    and enabled, PREFS holds its preferences (engine and model folder set)."""

    def _run(script: str, timeout: float = 300, engine: str | None = None) -> dict:
        user = tmp_path / "blender_user"
        user.mkdir(exist_ok=True)
        prelude = PRELUDE.format(zip=str(extension_zip), module=MODULE,
                                 engine=engine_executable if engine is None else engine,
                                 models=str(toy_models))
        env = dict(os.environ, BLENDER_USER_RESOURCES=str(user))
        proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(script)],
                              check=False, capture_output=True, text=True, timeout=timeout,
                              env=env,
                              cwd=str(tmp_path))
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, (proc.stdout[-3000:] + proc.stderr[-3000:])
        return json.loads(lines[-1][len("RESULT "):])

    return _run


@pytest.fixture(scope="session")
def toy_models(tmp_path_factory) -> Path:
    from tests.infer.toy_model import export_toy

    folder = tmp_path_factory.mktemp("models")
    export_toy(folder)
    export_toy(folder, "nearest_x4", kind="nearest")
    return folder


@pytest.fixture(scope="session")
def smoke_seq(tmp_path_factory) -> Path:
    """Four 40x24x24 frames (two blobs, rising velocity), written by billow in this process
    (never in a process that imports bpy)."""
    from tests.infer.conftest import smoke_frame

    folder = tmp_path_factory.mktemp("cache")
    for f in range(1, 5):
        smoke_frame(folder / f"smoke.{f:04d}.vdb", shift=0.5 * f)
    return folder / "smoke.####.vdb"


