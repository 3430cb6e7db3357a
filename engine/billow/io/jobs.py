"""The (frame, input path, output path) jobs of a sequence-to-sequence run (upres, baseline,
convert, retexture, uv infer), and the one check that an output never replaces an input."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from .atomic import check_output_path
from .sequence import FramePattern, resolve_frames


def input_output_frames(in_pattern: str, out_pattern: str, frames: str | None):
    """(frame, input path, output path) triples; the output must be a sequence pattern when
    the input is one."""
    check_output_path(out_pattern)
    inputs = resolve_frames(in_pattern, frames)
    out = FramePattern.parse(out_pattern)
    if inputs[0][0] is not None and not out.is_sequence:
        raise InputError(f"{out_pattern}: the input is a sequence, so the output needs a frame "
                         "token too (e.g. out/smoke.####.vdb)")
    if inputs[0][0] is None and out.is_sequence:
        raise InputError(f"{out_pattern}: the input is a single file, so the output must be "
                         "one file too (no frame token)")
    jobs = [(f, p, out.path(f)) for f, p in inputs]
    for job in jobs[:1]:
        check_output_path(job[2])
    refuse_overwriting_inputs([j[2] for j in jobs], [j[1] for j in jobs])
    return jobs


def _identity(path: Path) -> tuple:
    """What a path resolves to: the file's device and inode when it exists (hard links,
    symlinks, `./x` vs `x`), else its absolute, normalised, symlink-resolved name."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("name", os.path.normcase(os.path.realpath(path)))


def refuse_overwriting_inputs(outputs, inputs) -> None:
    """Refuse (exit 2) when any output path resolves to any input file, however spelled:
    writing would replace the user's cache with its own upres."""
    seen = {}
    for p in inputs:
        if p is None:
            continue
        seen.setdefault(_identity(Path(p)), Path(p))
        seen.setdefault(("name", os.path.normcase(os.path.realpath(p))), Path(p))
    for out in outputs:
        out = Path(out)
        for key in (_identity(out), ("name", os.path.normcase(os.path.realpath(out)))):
            if key in seen:
                raise InputError(f"{out}: the output is the input file {seen[key]}; writing "
                                 "it would replace your cache; choose another output path")
