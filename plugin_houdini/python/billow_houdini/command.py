"""Node parameters -> one `billow upres` command line. Plain Python, no `hou`.

The SOP, the TOP and the shelf tool all go through `settings_from_parms` (parameter values as a
plain dict, read by the thin `hou` layer) and `build_argv`, so what an artist sees in the
parameter pane is exactly what runs locally and on the farm.
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass, field, replace

from .vendor.billow_client import number_text, upres_argv
from .paths import PathError, to_engine_pattern

SCALES = (4, 8, 16)
DEVICES = ("cpu", "cuda")
MASK_KINDS = ("none", "sphere", "box", "grid")
ENV_EXECUTABLE = "BILLOW_EXECUTABLE"


class SettingsError(ValueError):
    """A parameter value cannot make a valid engine command; the message names the parameter."""


@dataclass(frozen=True)
class UpresSettings:
    """One `billow upres` run. Field names follow the CLI flags (see `billow upres --help`)."""

    input: str
    output: str
    frames: str | None = None
    model: str | None = None
    scale: int = 4
    velocity_scale: float = 1.0
    mask: str | None = None
    device: str = "cpu"
    density_grid: str | None = None
    velocity_grid: str | None = None
    pass_through: str = ""
    write_velocity: bool = False
    half: bool = False
    detail_blend: float = 0.0
    fps: float | None = None
    tile: int | None = None
    threads: int = 0
    skip_existing: bool = False
    chunk: int | None = None
    chunk_index: int | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)

    def with_chunk(self, size: int, index: int) -> "UpresSettings":
        return replace(self, chunk=size, chunk_index=index)


def _number(value, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as e:
        raise SettingsError(f"{what}: '{value}' is not a number") from e
    if not math.isfinite(x):
        raise SettingsError(f"{what}: must be a finite number, got {value}")
    return x


def mask_argument(kind: str, center=(0.0, 0.0, 0.0), radius: float = 1.0,
                  box_min=(0.0, 0.0, 0.0), box_max=(1.0, 1.0, 1.0), falloff: float = 0.0,
                  grid: str = "") -> str | None:
    """The `--mask` value: `sphere:cx,cy,cz,r[,falloff]`, `box:x0,y0,z0,x1,y1,z1[,falloff]`
    (world units) or a grid name; None for no mask."""
    if kind not in MASK_KINDS:
        raise SettingsError(f"Mask: unknown kind '{kind}' (one of {', '.join(MASK_KINDS)})")
    falloff = _number(falloff, "Mask falloff")
    if falloff < 0:
        raise SettingsError(f"Mask falloff must be >= 0, got {falloff:g}")
    tail = [number_text(falloff)] if falloff > 0 else []
    if kind == "none":
        return None
    if kind == "sphere":
        c = [_number(v, "Mask centre") for v in center]
        r = _number(radius, "Mask radius")
        if r <= 0:
            raise SettingsError(f"Mask radius must be > 0, got {r:g}")
        return "sphere:" + ",".join([number_text(v) for v in c] + [number_text(r)] + tail)
    if kind == "box":
        lo = [_number(v, "Mask box min") for v in box_min]
        hi = [_number(v, "Mask box max") for v in box_max]
        if any(b <= a for a, b in zip(lo, hi)):
            raise SettingsError(f"Mask box: max {hi} must exceed min {lo} on every axis")
        return "box:" + ",".join([number_text(v) for v in lo + hi] + tail)
    name = str(grid).strip()
    if not name or any(ch in name for ch in ":, "):
        raise SettingsError(f"Mask grid: '{grid}' is not a grid name")
    return name


def build_argv(s: UpresSettings, executable: list[str] | tuple[str, ...] = ("billow",),
               progress: str = "json") -> list[str]:
    """The engine command line for `s` (a list for `subprocess`, never a shell string)."""
    if not s.input or not s.output:
        raise SettingsError("Input and Output caches must both be set")
    if int(s.scale) not in SCALES:
        raise SettingsError(f"Scale must be one of {SCALES}, got {s.scale}")
    if s.device not in DEVICES:
        raise SettingsError(f"Device must be one of {DEVICES}, got {s.device!r}")
    vscale = _number(s.velocity_scale, "Velocity scale")
    if vscale < 0:
        raise SettingsError(f"Velocity scale must be >= 0 (0 suppresses detail), got {vscale:g}")
    blend = _number(s.detail_blend, "Detail blend")
    if not 0.0 <= blend <= 1.0:
        raise SettingsError(f"Detail blend must be within 0..1, got {blend:g}")
    if (s.chunk is None) != (s.chunk_index is None):
        raise SettingsError("chunk size and chunk index go together")
    if s.chunk is not None and (int(s.chunk) < 1 or int(s.chunk_index) < 0):
        raise SettingsError(f"bad chunk {s.chunk} / index {s.chunk_index}")
    fps = None
    if s.fps is not None:
        fps = _number(s.fps, "FPS")
        if fps <= 0:
            raise SettingsError(f"FPS must be > 0, got {fps:g}")
    # every flag that shapes the result is written, even at the engine's default, so the
    # command in a farm log says exactly what ran
    return upres_argv(executable, s.input, s.output, scale=int(s.scale), velocity_scale=vscale,
                      device=s.device, frames=s.frames or None, model=s.model, mask=s.mask,
                      density_grid=s.density_grid, velocity_grid=s.velocity_grid,
                      pass_through=s.pass_through, write_velocity=s.write_velocity,
                      half=s.half, detail_blend=blend, fps=fps, tile=s.tile,
                      threads=s.threads, skip_existing=s.skip_existing, chunk=s.chunk,
                      chunk_index=s.chunk_index, extra=s.extra, progress=progress)


def resolve_executable(text: str = "", environ: dict | None = None) -> list[str]:
    """The engine launcher as argv: the node's parameter, else $BILLOW_EXECUTABLE, else `billow`
    on PATH. May hold arguments (`/opt/billow/.venv/bin/python -m billow`)."""
    environ = os.environ if environ is None else environ
    text = (text or "").strip() or environ.get(ENV_EXECUTABLE, "").strip() or "billow"
    try:
        argv = shlex.split(text, posix=os.name != "nt")
    except ValueError as e:
        raise SettingsError(f"Engine executable: cannot read '{text}' ({e})") from e
    return [a.strip('"') for a in argv] if os.name == "nt" else argv


def _text(values: dict, name: str) -> str:
    return str(values.get(name, "") or "").strip()


def settings_from_parms(values: dict, variables: dict | None = None,
                        base_dir: str | None = None, *, input_pattern: str | None = None,
                        frames: str | None = None) -> UpresSettings:
    """Parameter values of `billow::upres::1.0` (names from `hda/definition.py`, read raw so
    `$F4` survives) -> settings. `input_pattern` overrides the input (the SOP's temporary VDB of
    its upstream geometry); `frames` is the range to run (None: the single input file)."""
    def path(name: str, label: str) -> str:
        try:
            return to_engine_pattern(_text(values, name), variables, base_dir)
        except PathError as e:
            raise SettingsError(f"{label}: {e}") from e

    model = _text(values, "model")
    mask = mask_argument(
        _text(values, "masktype") or "none",
        center=[values.get(f"maskcenter{c}", 0.0) for c in "xyz"],
        radius=values.get("maskradius", 1.0),
        box_min=[values.get(f"maskmin{c}", 0.0) for c in "xyz"],
        box_max=[values.get(f"maskmax{c}", 1.0) for c in "xyz"],
        falloff=values.get("maskfalloff", 0.0), grid=_text(values, "maskgrid"))
    try:
        extra = tuple(shlex.split(_text(values, "extraargs")))
    except ValueError as e:
        raise SettingsError(f"Extra arguments: {e}") from e
    fps = values.get("fps")
    return UpresSettings(
        input=input_pattern or path("incache", "Input cache"),
        output=path("outcache", "Output cache"),
        frames=frames,
        model=path("model", "Model") if model else None,
        scale=int(_text(values, "scale") or 4),
        velocity_scale=values.get("velscale", 1.0),
        mask=mask,
        device=_text(values, "device") or "cpu",
        density_grid=_text(values, "densitygrid") or None,
        velocity_grid=_text(values, "velgrid") or None,
        pass_through=_text(values, "passthrough"),
        write_velocity=bool(values.get("writevel", 0)),
        half=bool(values.get("half", 0)),
        detail_blend=values.get("detailblend", 0.0),
        fps=float(fps) if fps not in (None, "") else None,
        tile=int(values.get("tile", 0) or 0) or None,
        threads=int(values.get("threads", 0) or 0),
        skip_existing=bool(values.get("skipexisting", 0)),
        extra=extra,
    )


def settings_signature(s: UpresSettings) -> str:
    """A short hash of what shapes the result (model, scale, art direction, grids...), not of
    where it is read or written: a frame on disk made with another signature is stale."""
    import hashlib
    import json

    shaping = replace(s, input="", output="", frames=None, chunk=None, chunk_index=None,
                      skip_existing=False, threads=0, tile=None)
    text = json.dumps(shaping.__dict__, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]
