"""Frame-numbered file patterns and frame ranges, as DCCs and farms spell them.

Patterns: `smoke.####.vdb` (one '#' per digit), `smoke.$F4.vdb` (Houdini), `smoke.%04d.vdb`
(printf), `smoke.@@@@.vdb` (one '@' per digit; a single '@' is unpadded). A path with no frame
token is a single file. Ranges: `1-100`, `1-100x2` (every 2nd), `1,5,9`, and mixes of those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import client
from ..errors import InputError



@dataclass(frozen=True)
class FramePattern:
    """A path template with at most one frame token."""

    prefix: str
    suffix: str
    padding: int | None  # None: no frame token (a single file); 0 or 1: unpadded

    @classmethod
    def parse(cls, pattern: str | Path) -> "FramePattern":
        text = str(pattern)
        try:  # the token grammar is billow.client's, shared with the add-ons
            parts = client.split_pattern(text)
        except client.FrameRangeError as e:
            raise InputError(str(e)) from None
        if parts is None:
            return cls(text, "", None)
        return cls(*parts)

    @property
    def is_sequence(self) -> bool:
        return self.padding is not None

    def path(self, frame: int | None = None) -> Path:
        if not self.is_sequence:
            return Path(self.prefix)
        if frame is None:
            raise InputError(f"{self}: a frame number is needed for this pattern")
        return Path(self.prefix + client.frame_text(frame, self.padding) + self.suffix)

    def discover(self) -> list[int]:
        """Frame numbers of the files that exist, sorted."""
        if not self.is_sequence:
            return []
        folder_text, _, head = self.prefix.rpartition("/")
        folder = Path(folder_text or ".")
        if not folder.is_dir():
            return []
        digits = r"\d+" if self.padding <= 1 else rf"\d{{{self.padding},}}"
        rx = re.compile(re.escape(head) + rf"(-?{digits})" + re.escape(self.suffix) + "$")
        frames = set()
        for entry in folder.iterdir():
            m = rx.match(entry.name)
            if m and entry.is_file():
                frames.add(int(m.group(1)))
        return sorted(frames)

    def __str__(self) -> str:
        if not self.is_sequence:
            return self.prefix
        return f"{self.prefix}{'#' * max(self.padding, 1)}{self.suffix}"


def parse_frames(spec: str) -> list[int]:
    """`1-100`, `1-100x2` (or OpenJD's `1-100:2`), `1,5,9`, `1-10,20-30x5` -> sorted unique
    frame numbers. The grammar is `billow.client`'s (shared with the add-ons); a bad range is
    an input error here."""
    try:
        return client.parse_frames(spec)
    except client.FrameRangeError as e:
        raise InputError(str(e)) from None


format_frames = client.format_frames


def resolve_frames(pattern: str | Path | FramePattern, frames: str | list[int] | None = None,
                   *, must_exist: bool = True) -> list[tuple[int | None, Path]]:
    """The (frame, path) pairs a command should work on.

    Without `frames`, every existing frame of the pattern; with `frames`, exactly those,
    and if `must_exist` any that are missing are named in one error.
    """
    pat = pattern if isinstance(pattern, FramePattern) else FramePattern.parse(pattern)
    if not pat.is_sequence:
        if frames is not None:
            raise InputError(f"{pat}: frames '{frames}' were given but this is a single file, "
                             "not a frame pattern (smoke.####.vdb)")
        path = pat.path()
        if must_exist and not path.exists():
            raise InputError(f"{path}: no such file")
        return [(None, path)]
    if frames is None:
        found = pat.discover()
        if not found:
            raise InputError(f"{pat}: no files match this pattern")
        return [(f, pat.path(f)) for f in found]
    wanted = parse_frames(frames) if isinstance(frames, str) else sorted(set(frames))
    if must_exist:
        missing = [f for f in wanted if not pat.path(f).exists()]
        if missing:
            raise InputError(f"{pat}: missing frame{'s' if len(missing) > 1 else ''} "
                             f"{format_frames(missing)} (of {format_frames(wanted)})")
    return [(f, pat.path(f)) for f in wanted]
