"""Grid names and metadata of a .vdb file, read from its header in plain Python.

The panel needs two facts about a cache before the engine runs: which grids it has (to pass
flame/heat/color through only when they exist) and its `billow_up_axis` metadata (the Up Axis's
Auto mode). Blender's Python may have no OpenVDB module, and starting the engine for this would
cost seconds, so this reads only the fixed part of the format (openvdb/io/Archive.cc, as
engine/billow/io/vdb_header.py): int64 magic, uint32 file version, uint32 x2 library version,
uint8 has-grid-offsets, 36-byte UUID, the file's metadata, int32 grid count, then per grid a
descriptor (name, type, instance parent; int64 grid, block and end offsets) and, at the grid
offset, uint32 compression flags (file version >= 222) and the grid's metadata. Metadata is
int32 count, then name, type name (strings: int32 length + bytes), int32 size and the value.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = 0x56444220
_VERSION_WITH_OFFSETS = 212
_VERSION_WITH_COMPRESSION_FLAGS = 222
_SUFFIX_SEP = "\x1e"  # OpenVDB's separator before a duplicate grid name's index


class VdbInfoError(ValueError):
    """Not a readable .vdb header; the message names the file."""


@dataclass
class VdbInfo:
    grids: list[str] = field(default_factory=list)
    file_metadata: dict = field(default_factory=dict)
    grid_metadata: dict[str, dict] = field(default_factory=dict)

    def meta(self, key: str, default=None):
        """A metadata value from the file, else from the first grid that has it."""
        if key in self.file_metadata:
            return self.file_metadata[key]
        for meta in self.grid_metadata.values():
            if key in meta:
                return meta[key]
        return default


_SCALARS = {"bool": "<?", "int32": "<i", "int64": "<q", "float": "<f", "double": "<d",
            "vec3s": "<3f", "vec3d": "<3d", "vec3i": "<3i"}


class _Reader:
    def __init__(self, f, path):
        self.f, self.path = f, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        raw = self.f.read(size)
        if len(raw) != size:
            raise VdbInfoError(f"{self.path}: truncated VDB header")
        values = struct.unpack(fmt, raw)
        return values if len(values) > 1 else values[0]

    def bytes(self, n: int) -> bytes:
        if n < 0 or n > 1 << 24:
            raise VdbInfoError(f"{self.path}: corrupt VDB header")
        raw = self.f.read(n)
        if len(raw) != n:
            raise VdbInfoError(f"{self.path}: truncated VDB header")
        return raw

    def string(self) -> str:
        return self.bytes(self.take("<I")).decode("utf-8", errors="replace")

    def metadata(self) -> dict:
        meta = {}
        for _ in range(self.take("<i")):
            name, kind = self.string(), self.string()
            raw = self.bytes(self.take("<i"))
            if kind == "string":
                meta[name] = raw.decode("utf-8", errors="replace")
            elif kind in _SCALARS and struct.calcsize(_SCALARS[kind]) == len(raw):
                value = struct.unpack(_SCALARS[kind], raw)
                meta[name] = value[0] if len(value) == 1 else list(value)
        return meta


def read_info(path: str | Path) -> VdbInfo:
    """Grid names, file metadata and each grid's metadata of a .vdb file (no voxels read)."""
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise VdbInfoError(f"{path}: cannot read ({e.strerror or e})") from e
    with f:
        r = _Reader(f, path)
        if r.f.read(8) != struct.pack("<q", MAGIC):
            raise VdbInfoError(f"{path}: not a VDB file")
        version = r.take("<I")
        r.take("<II")
        has_offsets = r.take("<B")
        r.bytes(36)
        info = VdbInfo(file_metadata=r.metadata())
        count = r.take("<i")
        if count < 0 or count > 1 << 16:
            raise VdbInfoError(f"{path}: corrupt VDB header ({count} grids)")
        if version < _VERSION_WITH_OFFSETS or not has_offsets:
            return info  # old files: no offsets to find the descriptors by
        for _ in range(count):
            name = r.string().split(_SUFFIX_SEP, 1)[0]
            r.string()  # type
            r.string()  # instance parent
            grid_pos, _, end = r.take("<qqq")
            info.grids.append(name)
            r.f.seek(grid_pos)
            if version >= _VERSION_WITH_COMPRESSION_FLAGS:
                r.take("<I")
            info.grid_metadata.setdefault(name, r.metadata())
            r.f.seek(end)
    return info


ROLE_NAMES = {"temperature": ("temperature", "heat"), "flame": ("flame", "fuel"),
              "color": ("color", "colour", "cd")}


def roles_present(grids: list[str]) -> set[str]:
    """Pass-through roles (temperature, flame, color) that `grids` has, by the engine's names
    (engine/billow/io/aliases.py)."""
    lower = {g.lower() for g in grids}
    return {role for role, names in ROLE_NAMES.items() if lower & set(names)}


def auto_up_axis(declared, matrix) -> tuple[str, str]:
    """(up axis, why) of a cache shown through a 4x4 row-major `matrix` (cache -> Blender
    world): its `billow_up_axis` metadata when it has one; else y when the object stands the
    cache's +y up (a y-up cache imported and rotated +90 degrees about X), else z."""
    if declared in ("y", "z"):
        return declared, "cache metadata"
    y_dir = [matrix[i][1] for i in range(3)]
    norm = sum(c * c for c in y_dir) ** 0.5
    if norm > 0 and y_dir[2] / norm > 0.7:
        return "y", "object rotation"
    return "z", "Blender default"
