"""Houdini path strings -> paths the engine understands. Plain Python, no `hou`.

Houdini file parameters hold text such as `$HIP/geo/pyro.$F4.vdb`. The engine expands frame
tokens itself (`$F4`, `$F`, `####`, `%04d`, `@`), but not scene variables: `$HIP`, `$JOB`,
`$HIPNAME`, `$OS` and environment variables must be expanded on the Houdini side, without
touching the frame token (Houdini's own `evalParm` would replace `$F4` with the current frame).
"""

from __future__ import annotations

import os
import re

# frame_tokens and hashes are this module's API too (the client's implementation)
from .vendor.billow_client import FrameRangeError, frame_tokens, hashes  # noqa: F401
from .vendor.billow_client import frame_path as client_frame_path

# $F, $F4, ${F}, ${F4}: the only Houdini variables that stay in a pattern for the engine.
_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_HOU_FRAME = re.compile(r"^F(\d*)$")
# Time-varying Houdini variables that make no sense in a cache path.
_UNSUPPORTED = {"FF", "T", "SF", "ST", "FPS", "NFRAMES", "FSTART", "FEND", "RFSTART", "RFEND"}


class PathError(ValueError):
    """A path parameter cannot be turned into an engine pattern; the message says why."""


def expand_variables(text: str, variables: dict[str, str] | None = None,
                     environ: dict[str, str] | None = None) -> str:
    """Expand `$NAME` / `${NAME}` from `variables` (scene: HIP, JOB, HIPNAME, OS...) and then the
    environment, keeping the frame token `$F`/`$F4` (normalised from `${F4}`). Unknown
    variables and time-varying ones (`$FF`, `$T`) are errors, never silently left in a path."""
    variables = dict(variables or {})
    environ = os.environ if environ is None else environ

    def replace(m: re.Match) -> str:
        name = m.group("braced") or m.group("plain")
        frame = _HOU_FRAME.match(name)
        if frame:
            return f"$F{frame.group(1)}"
        if name in variables:
            return str(variables[name])
        if name in environ:
            return str(environ[name])
        if name in _UNSUPPORTED:
            raise PathError(f"{text}: ${name} cannot be used in a cache path "
                            "(use $F4 or #### for the frame number)")
        # $F4abc: Houdini reads `$F4` followed by text only in braces; be explicit
        padded = re.match(r"F(\d+)", name)
        if padded:
            raise PathError(f"{text}: write ${{F{padded.group(1)}}} when the frame number is "
                            "followed by letters")
        raise PathError(f"{text}: unknown variable ${name} (set it in the environment or "
                        "write the path out)")

    return _VAR.sub(replace, str(text))


def is_sequence(pattern: str) -> bool:
    return bool(frame_tokens(pattern))


def to_engine_pattern(text: str, variables: dict[str, str] | None = None,
                      base_dir: str | None = None, environ: dict[str, str] | None = None) -> str:
    """A Houdini path parameter as an absolute engine pattern: variables expanded, `$F4` kept,
    at most one frame token, relative paths made absolute against `base_dir` (normally $HIP,
    because the engine runs in another working directory)."""
    text = str(text).strip()
    if not text:
        raise PathError("the path is empty")
    expanded = expand_variables(text, variables, environ)
    tokens = frame_tokens(expanded)
    if len(tokens) > 1:
        raise PathError(f"{text}: more than one frame token ({', '.join(tokens)}) in the file name")
    if "$F" in expanded.replace("\\", "/").rsplit("/", 1)[0]:
        raise PathError(f"{text}: the frame token must be in the file name, not the folder")
    expanded = os.path.expanduser(expanded)
    if not os.path.isabs(expanded):
        if not base_dir:
            raise PathError(f"{text}: relative path and no $HIP to resolve it against")
        expanded = os.path.join(base_dir, expanded)
    return os.path.normpath(expanded) if not expanded.endswith(os.sep) else expanded


def frame_path(pattern: str, frame: int | None) -> str:
    """The file of one frame of an engine pattern (what the engine writes for that frame)."""
    try:
        result = client_frame_path(str(pattern).replace("\\", "/"), frame)
    except FrameRangeError as e:
        raise PathError(str(e)) from None
    return result.replace("/", os.sep) if os.sep != "/" else result
