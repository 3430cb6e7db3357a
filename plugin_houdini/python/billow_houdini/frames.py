"""Frame ranges and farm chunks, exactly as the engine reads them. Plain Python, no `hou`.

The engine's `--chunk N --chunk-index I` runs the I-th (0-based) group of N frames of the sorted
`--frames` list, so planning chunks here and running them there can never disagree: a chunk is
identified by its index, and the frames listed for it are only for display and expected
outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^(-?\d+)(?:-(-?\d+)(?:[x:](\d+))?)?$")


class FrameRangeError(ValueError):
    """A frame range cannot be read; the message names the bad part."""


def parse_frames(spec: str) -> list[int]:
    """`1-100`, `1-100x2` (or `1-100:2`), `1,5,9`, `1-10,20-30x5` -> sorted unique frames."""
    frames: set[int] = set()
    text = str(spec).replace(" ", "")
    if not text:
        raise FrameRangeError("the frame range is empty")
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m:
            raise FrameRangeError(f"frame range '{spec}': cannot read '{part}' "
                                  "(expected 12, 1-100 or 1-100x2)")
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        step = int(m.group(3) or 1)
        if end < start or step < 1:
            raise FrameRangeError(f"frame range '{spec}': '{part}' is empty")
        frames.update(range(start, end + 1, step))
    return sorted(frames)


def format_frames(frames: list[int]) -> str:
    """[1,2,3,7,9,10] -> '1-3,7,9-10' (what the engine reads back as the same list)."""
    out, frames = [], sorted(set(frames))
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        out.append(str(frames[i]) if i == j else f"{frames[i]}-{frames[j]}")
        i = j + 1
    return ",".join(out)


def range_spec(start: float, end: float, step: float = 1) -> str:
    """Houdini's (start, end, inc) frame range parameters as an engine range: `1-240x2`.
    Houdini stores them as floats; sub-frames are not supported by the engine."""
    values = [start, end, step]
    if any(abs(v - round(v)) > 1e-6 for v in values):
        raise FrameRangeError(f"frame range {start:g}-{end:g} step {step:g}: billow works on "
                              "whole frames only")
    a, b, s = (int(round(v)) for v in values)
    if s < 1:
        raise FrameRangeError(f"frame range step must be >= 1, got {s}")
    if b < a:
        raise FrameRangeError(f"frame range {a}-{b} is empty (end before start)")
    if a == b:
        return str(a)
    return f"{a}-{b}" if s == 1 else f"{a}-{b}x{s}"


@dataclass(frozen=True)
class Chunk:
    """One farm task: `--chunk size --chunk-index index` over the full `--frames` spec."""

    index: int
    size: int
    frames: tuple[int, ...]

    @property
    def label(self) -> str:
        return format_frames(list(self.frames))


def plan_chunks(frames: str | list[int], size: int) -> list[Chunk]:
    """Every chunk of `size` frames of the range, in order; together they cover each frame once
    (the engine's `select_chunk`, `billow/farm/chunks.py`)."""
    if isinstance(size, bool) or int(size) != size or size < 1:
        raise FrameRangeError(f"frames per task must be a whole number >= 1, got {size}")
    size = int(size)
    listed = parse_frames(frames) if isinstance(frames, str) else sorted(set(frames))
    if not listed:
        raise FrameRangeError("no frames to split into tasks")
    return [Chunk(i, size, tuple(listed[i * size:(i + 1) * size]))
            for i in range((len(listed) + size - 1) // size)]


def frames_to_render(frames: str | list[int], output_pattern: str, skip_existing: bool,
                     exists=None) -> list[int]:
    """The frames of the range still to do: all of them, or with `skip_existing` those whose
    output file is missing (so the SOP writes upstream input only for those)."""
    import os

    from .paths import frame_path

    listed = parse_frames(frames) if isinstance(frames, str) else sorted(set(frames))
    if not skip_existing:
        return listed
    exists = os.path.isfile if exists is None else exists
    return [f for f in listed if not exists(frame_path(output_pattern, f))]
