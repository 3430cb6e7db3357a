"""A reader for the fixed part of the .vdb file format, used to reject bad files early.

OpenVDB itself reads some truncated files without complaint (a file cut a few bytes short
loads with wrong voxels) and reports others with kilobytes of garbage in its message. Grid
descriptors carry the byte offset where each grid ends, so truncation is found by comparing
those offsets with the file size, before any tree is read. Layout (little-endian), from
openvdb/io/Archive.cc: int64 magic, uint32 file version, uint32 library major and minor,
uint8 has-grid-offsets, 36-byte UUID, file metadata, int32 grid count, then per grid a
descriptor (name, type, parent: int32 length + bytes; int64 grid, block and end offsets).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

MAGIC = 0x56444220  # "  BDV" as written by OpenVDB
_MIN_VERSION_WITH_OFFSETS = 212


@dataclass(frozen=True)
class GridDescriptor:
    name: str
    type_name: str
    end_offset: int


class _Reader:
    def __init__(self, data: bytes, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise InputError(f"{self.path}: truncated VDB file (header ends at byte {self.pos})")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def string(self) -> str:
        n = self.take("<I")
        if n > 1 << 20:
            raise InputError(f"{self.path}: corrupt VDB header (string of {n} bytes)")
        raw = self.data[self.pos : self.pos + n]
        if len(raw) != n:
            raise InputError(f"{self.path}: truncated VDB file (header ends at byte {self.pos})")
        self.pos += n
        return raw.decode("utf-8", errors="replace")


def read_descriptors(path: str | Path) -> list[GridDescriptor]:
    """Validate a .vdb file's structure and return its grid descriptors; raise InputError
    naming the file if it is missing, not a VDB, or truncated."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a .vdb file")
    try:
        return _read_descriptors(path)
    except OSError as e:  # unreadable (permissions), vanished, an I/O error
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e


def _read_descriptors(path: Path) -> list[GridDescriptor]:
    size = path.stat().st_size
    with open(path, "rb") as f:
        # The header, metadata and descriptors of the first grid fit in the first few KB;
        # later descriptors are read by seeking, so large files are never read whole here.
        head = f.read(1 << 16)
        reader = _Reader(head, path)
        if len(head) < 8 or reader.take("<q") != MAGIC:
            raise InputError(f"{path}: not a VDB file")
        version = reader.take("<I")
        reader.take("<II")  # library version
        has_offsets = reader.take("<B")
        reader.pos += 36  # UUID
        for _ in range(reader.take("<i")):  # file-level metadata
            reader.string()
            reader.string()
            nbytes = reader.take("<i")  # (not `pos += take()`: take() moves pos first)
            reader.pos += nbytes
        count = reader.take("<i")
        if count < 0 or count > 1 << 16:
            raise InputError(f"{path}: corrupt VDB header ({count} grids)")
        if version < _MIN_VERSION_WITH_OFFSETS or not has_offsets:
            return [GridDescriptor("?", "?", size)] * count  # old format: nothing to check
        grids = []
        for _ in range(count):
            name, type_name = reader.string(), reader.string()
            reader.string()  # instance parent
            _, _, end = reader.take("<qqq")
            if end > size:
                raise InputError(
                    f"{path}: truncated VDB file (grid '{name}' ends at byte {end}, "
                    f"file has {size})"
                )
            grids.append(GridDescriptor(name, type_name, end))
            if len(grids) < count:
                f.seek(end)
                reader = _Reader(f.read(1 << 16), path)
    return grids
