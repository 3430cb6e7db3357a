"""Frame-numbered files as Blender sees them, and the engine's frame syntax.

Blender stores a Volume sequence as one file path (`smoke.0001.vdb`) plus `frame_start`,
`frame_duration`, `frame_offset`; the file shown at a scene frame is
`file = scene - frame_start + 1 + frame_offset` (Blender's volume.cc). The engine takes `####`
patterns and `1-3,7` frame lists (their grammar is the engine's client, vendored in vendor/).
A small copy of the engine's pattern rules lives here because Blender's Python cannot import
the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_LAST_DIGITS = re.compile(r"(-?\d+)(?!.*\d)")
MANTAFLOW_DATA = ("data", "fluid_data_####.vdb")


def pattern_from_file(path: str) -> tuple[str, int | None]:
    """`/c/smoke.0012.vdb` -> (`/c/smoke.####.vdb`, 12): the last digit run of the file name
    becomes the frame token (as Blender reads it). No digits: (path, None), a single file."""
    p = Path(path)
    m = _LAST_DIGITS.search(p.stem)
    if not m:
        return str(p), None
    digits = m.group(1).lstrip("-")
    name = p.stem[: m.start()] + "#" * len(digits) + p.stem[m.end():] + p.suffix
    return str(p.with_name(name)), int(m.group(1))


def file_for(pattern: str, frame: int) -> str:
    """The path of one frame of a `####` pattern."""
    m = re.search(r"#+", Path(pattern).name)
    if not m:
        return pattern
    p = Path(pattern)
    return str(p.with_name(p.name[: m.start()] + f"{frame:0{len(m.group(0))}d}"
                           + p.name[m.end():]))


def discover(pattern: str) -> list[int]:
    """Frame numbers of the files of a `####` pattern that exist, sorted."""
    p = Path(pattern)
    m = re.search(r"#+", p.name)
    if not m or not p.parent.is_dir():
        return []
    rx = re.compile(re.escape(p.name[: m.start()]) + rf"(\d{{{len(m.group(0))},}})"
                    + re.escape(p.name[m.end():]) + "$")
    return sorted(int(mm.group(1)) for e in p.parent.iterdir()
                  if (mm := rx.match(e.name)) and e.is_file())


def mantaflow_pattern(cache_directory: str) -> str:
    """The density/velocity VDB pattern of a Mantaflow domain's cache folder."""
    return str(Path(cache_directory, *MANTAFLOW_DATA))


@dataclass(frozen=True)
class Sequence:
    """Blender's volume-sequence timing: file = scene - start + 1 + offset."""

    start: int = 1
    offset: int = 0
    duration: int = 0

    def file_frame(self, scene_frame: int) -> int:
        return scene_frame - self.start + 1 + self.offset

    def scene_frame(self, file_frame: int) -> int:
        return file_frame + self.start - 1 - self.offset

    def restricted(self, first: int, last: int) -> Sequence:
        """The same scene-to-file mapping, clipped to files first..last (for the output of a
        partial run: no missing-file errors outside what was processed)."""
        return Sequence(start=self.scene_frame(first), offset=first - 1,
                        duration=last - first + 1)


def select_frames(available: list[int], mode: str, seq: Sequence, scene_range=(1, 1),
                  custom_range=(1, 1), current: int = 1) -> list[int]:
    """File frames to process. mode: ALL (every cached file), SCENE (the scene's frame range),
    CUSTOM (a scene-frame range), CURRENT (the current scene frame only)."""
    if mode == "ALL":
        return list(available)
    if mode == "CURRENT":
        lo = hi = current
    else:
        lo, hi = scene_range if mode == "SCENE" else custom_range
    wanted = {seq.file_frame(f) for f in range(int(lo), int(hi) + 1)}
    return [f for f in available if f in wanted]


def clean_name(name: str) -> str:
    """An object name made safe for a file name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "smoke"
