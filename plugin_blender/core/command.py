"""Engine command lines: which executable runs `billow`, and the `billow upres` arguments for a
request. The engine is always a subprocess in its own Python environment (DESIGN.md): Blender's
Python never imports torch or the engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# the engine's client (vendored): core.job and core.server take engine_env and
# popen_kwargs from here
from ..vendor.billow_client import engine_env, popen_kwargs  # noqa: F401
from ..vendor.billow_client import upres_argv as client_upres_argv


class EngineNotFound(RuntimeError):
    """The configured engine cannot be run; the message says what to set."""


SETUP_HINT = ("set Preferences > Add-ons > billow > Engine to the `billow` executable of a "
              "Python environment where billow is installed (e.g. /path/to/venv/bin/billow), or "
              "to that environment's python")


def _is_python(path: Path) -> bool:
    return path.name.lower().startswith("python")


def engine_prefix(executable: str = "") -> list[str]:
    """The argv prefix that runs the engine: `[billow]` or `[python, -m, billow]`.

    `executable` is what the preferences hold: a `billow` executable, a Python interpreter with
    billow installed, a virtual environment folder (its bin/ or Scripts/ is searched), or empty
    for `billow` on PATH."""
    text = os.path.expanduser(executable.strip()) if executable else ""
    if not text:
        found = shutil.which("billow")
        if not found:
            raise EngineNotFound(f"`billow` is not on PATH: {SETUP_HINT}")
        return [found]
    path = Path(text)
    if path.is_dir():
        for sub in ("bin", "Scripts", "."):
            for name in ("billow", "billow.exe"):
                candidate = path / sub / name
                if candidate.is_file():
                    return [str(candidate)]
        raise EngineNotFound(f"{path}: no billow executable in this folder's bin/ or Scripts/: "
                             f"{SETUP_HINT}")
    if not path.is_file():
        raise EngineNotFound(f"{path}: no such file: {SETUP_HINT}")
    if not os.access(path, os.X_OK) and sys.platform != "win32":
        raise EngineNotFound(f"{path}: not executable: {SETUP_HINT}")
    if _is_python(path):
        return [str(path), "-m", "billow"]
    return [str(path)]


@dataclass(frozen=True)
class UpresRequest:
    """One `billow upres` run, in the engine's terms (cache world space, file frame numbers)."""

    input_pattern: str
    """input .vdb file or frame pattern (`smoke.####.vdb`)"""
    output_pattern: str
    """output pattern; a sequence pattern when the input is one"""
    frames: tuple[int, ...] | None = None
    """file frame numbers to process (None: every frame found)"""
    model: str | None = None
    """ONNX model path (None: the engine's shipped default)"""
    scale: int = 4
    """total upres factor, 4 or 8"""
    detail: float = 1.0
    """the Detail slider: the engine's --velocity-scale"""
    mask: str | None = None
    """engine mask text (`sphere:...`/`box:...`) in the cache's world space, or None"""
    device: str = "cpu"
    up_axis: str = "z"
    """the cache's up axis: z for Blender's own caches, y for Houdini's (the panel decides)"""
    fps: float | None = None
    time_scale: float | None = None
    """Mantaflow time scale of the domain (None: the engine's default)"""
    skip_existing: bool = False
    pass_through: tuple[str, ...] = ()
    """grids/roles upsampled into the output (temperature, flame, color)"""
    write_velocity: bool = False
    """also write the upsampled velocity (motion blur)"""
    extra: tuple[str, ...] = field(default_factory=tuple)
    """further engine arguments, passed verbatim"""


def upres_argv(prefix: list[str], req: UpresRequest) -> list[str]:
    """The full command line for `req`, progress as JSON lines on stdout."""
    if req.scale not in (4, 8, 16):
        raise ValueError(f"scale must be 4, 8 or 16, got {req.scale}")
    if not req.detail >= 0:
        raise ValueError(f"Detail must be >= 0, got {req.detail}")
    if req.frames is not None and not req.frames:
        raise ValueError("no frames to process")
    return client_upres_argv(prefix, req.input_pattern, req.output_pattern, scale=req.scale,
                             velocity_scale=req.detail, device=req.device, up_axis=req.up_axis,
                             frames=req.frames, model=req.model, mask=req.mask, fps=req.fps,
                             time_scale=req.time_scale, skip_existing=req.skip_existing,
                             pass_through=req.pass_through or None,
                             write_velocity=True if req.write_velocity else None,
                             extra=req.extra, progress="json")


def check_engine(executable: str = "", timeout: float = 60.0) -> tuple[bool, str]:
    """Run `billow --version`: (True, its output) or (False, the exact problem)."""
    try:
        argv = engine_prefix(executable) + ["--version"]
    except EngineNotFound as e:
        return False, str(e)
    try:
        proc = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout,
                              env=engine_env())
    except OSError as e:
        return False, f"{argv[0]}: cannot run ({e.strerror or e})"
    except subprocess.TimeoutExpired:
        return False, f"{' '.join(argv)}: no answer within {timeout:.0f} s"
    out = (proc.stdout or "").strip()
    if proc.returncode != 0 or not out.startswith("billow"):
        err = (proc.stderr or proc.stdout or "").strip().splitlines()
        last = err[-1] if err else f"exit code {proc.returncode}"
        return False, f"{' '.join(argv)} failed: {last}"
    return True, out
