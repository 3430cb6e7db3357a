"""Reading and writing VDB grids as dense numpy blocks over their active bounding box.

Only the official OpenVDB module is used (see `openvdb_module`). Grids are listed from their
metadata without loading trees; loading copies just the active bounding box (plus a pad) into
numpy, so a 16^3 blob in a 1024^3 domain costs 16^3 floats.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import InputError, OutputError, shorten
from .atomic import atomic_path
from .openvdb_module import openvdb
from .transform import matrix_from_vdb, matrix_to_vdb, voxel_sizes
from .vdb_header import read_descriptors
from .volume import Volume

SCALAR_TYPES = {"float": np.float32, "double": np.float64, "half": np.float32,
                "int32": np.int32, "int64": np.int64, "bool": np.bool_}
VECTOR_TYPES = {"vec3s": np.float32, "vec3d": np.float64, "vec3i": np.int32}
# Metadata that OpenVDB writes itself; not user metadata.
_FILE_KEYS = ("file_bbox_min", "file_bbox_max", "file_voxel_count", "file_mem_bytes",
              "file_compression", "is_saved_as_half_float", "name", "class", "vector_type")


@dataclass(frozen=True)
class GridInfo:
    """What a grid is, read from its header only."""

    name: str
    value_type: str
    grid_class: str
    vector_type: str
    matrix: np.ndarray
    bbox: tuple[tuple[int, int, int], tuple[int, int, int]] | None  # inclusive, None if empty
    active_voxels: int
    mem_bytes: int
    saved_as_half: bool
    metadata: dict = field(default_factory=dict)

    @property
    def voxel_size(self) -> np.ndarray:
        return voxel_sizes(self.matrix)

    @property
    def is_vector(self) -> bool:
        return self.value_type in VECTOR_TYPES

    @property
    def dense_shape(self) -> tuple[int, int, int]:
        if self.bbox is None:
            return (0, 0, 0)
        lo, hi = self.bbox
        return tuple(int(b - a + 1) for a, b in zip(lo, hi))

    def as_dict(self) -> dict:
        return {
            "name": self.name, "type": self.value_type, "class": self.grid_class,
            "vector_type": self.vector_type, "voxel_size": [float(v) for v in self.voxel_size],
            "matrix": self.matrix.tolist(), "bbox": self.bbox, "active_voxels": self.active_voxels,
            "mem_bytes": self.mem_bytes, "saved_as_half": self.saved_as_half,
            "metadata": {k: _jsonable(v) for k, v in self.metadata.items()},
        }


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return str(value)


def call_openvdb(path, what: str, fn, *args):
    """Run an OpenVDB call, turning its exceptions into one line naming the file."""
    try:
        return fn(*args)
    except KeyError as e:
        raise InputError(f"{path}: {shorten(e.args[0] if e.args else e)}") from e
    except (RuntimeError, OSError, ValueError, TypeError) as e:
        raise InputError(f"{path}: cannot {what} (corrupt or unsupported VDB: "
                         f"{shorten(e)})") from e


def list_grids(path: str | Path) -> list[GridInfo]:
    """Describe every grid in a .vdb file without loading voxel data."""
    read_descriptors(path)
    grids = call_openvdb(path, "read grid headers", openvdb().readAllGridMetadata, str(path))
    infos = []
    for g in grids:
        meta = dict(g.metadata)
        lo, hi = meta.get("file_bbox_min"), meta.get("file_bbox_max")
        count = int(meta.get("file_voxel_count", 0))
        bbox = (tuple(lo), tuple(hi)) if lo is not None and count > 0 else None
        infos.append(GridInfo(
            name=g.name, value_type=g.valueTypeName, grid_class=str(g.gridClass),
            vector_type=str(g.vectorType), matrix=matrix_from_vdb(g.transform), bbox=bbox,
            active_voxels=count, mem_bytes=int(meta.get("file_mem_bytes", 0)),
            saved_as_half=bool(g.saveFloatAsHalf),
            metadata={k: v for k, v in meta.items() if k not in _FILE_KEYS},
        ))
    return infos


def dense_limit_bytes() -> int:
    """The largest dense block billow allocates for one grid: `BILLOW_MAX_DENSE_GB`, else a
    quarter of the machine's memory (the network, the output and a prefetched frame need
    the rest)."""
    env = os.environ.get("BILLOW_MAX_DENSE_GB")
    if env:
        try:
            return int(float(env) * 2**30)
        except ValueError:
            raise InputError(f"BILLOW_MAX_DENSE_GB={env!r}: expected a number of GB") from None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 16 * 2**30
    return total // 4


def check_dense_size(path, name: str, shape, components: int = 1) -> None:
    """Refuse, in one line, a dense block that would not fit in memory (a sparse cache whose
    bounding box is huge), instead of running out of memory."""
    cells = float(np.prod([float(n) for n in shape])) if len(shape) else 0.0
    need = cells * 4 * components
    if need > dense_limit_bytes():
        raise InputError(
            f"{path}: grid '{name}' spans a bounding box of {' x '.join(str(int(n)) for n in shape)}"
            f" voxels ({need / 2**30:.3g} GB dense), more than this command holds in memory "
            f"({dense_limit_bytes() / 2**30:.3g} GB; BILLOW_MAX_DENSE_GB); its active voxels are "
            "far apart: `billow upres`, `convert`, `eval` and `baseline` (but for wavelet "
            "turbulence) process such caches region by region")


def read_grid(path: str | Path, name: str, *, pad: int = 0,
              bbox: tuple[tuple[int, int, int], tuple[int, int, int]] | None = None,
              check_finite: bool = True) -> Volume:
    """Load one grid as a dense block over its active bounding box (or `bbox`), grown by `pad`
    voxels on every side. An empty grid gives a block of shape (0, 0, 0)."""
    read_descriptors(path)
    grid = call_openvdb(path, f"read grid '{name}'", openvdb().read, str(path), name)
    value_type = grid.valueTypeName
    is_vector = value_type in VECTOR_TYPES
    dtype = (VECTOR_TYPES if is_vector else SCALAR_TYPES).get(value_type)
    if dtype is None:
        raise InputError(f"{path}: grid '{name}' has unsupported value type '{value_type}'")
    if bbox is None:
        if grid.activeVoxelCount() == 0:
            lo, shape = (0, 0, 0), (0, 0, 0)
        else:
            lo, hi = grid.evalActiveVoxelBoundingBox()
            shape = tuple(int(b - a + 1 + 2 * pad) for a, b in zip(lo, hi))
            lo = tuple(int(a - pad) for a in lo)
    else:
        lo = tuple(int(a - pad) for a in bbox[0])
        shape = tuple(int(b - a + 1 + 2 * pad) for a, b in zip(*bbox))
    check_dense_size(path, name, shape, 3 if is_vector else 1)
    data = np.zeros(shape + ((3,) if is_vector else ()), dtype=dtype)
    background = grid.background
    if np.any(np.asarray(background) != 0):
        data[...] = background
    if data.size:
        call_openvdb(path, f"read grid '{name}'", grid.copyToArray, data, lo)
    if check_finite and data.dtype.kind == "f" and data.size and not np.isfinite(data).all():
        # a voxel is bad if any of its components is (one NaN component of a vector is enough)
        bad = np.argwhere((~np.isfinite(data.reshape(data.shape[:3] + (-1,)))).any(-1))[0]
        where = tuple(int(b + o) for b, o in zip(bad, lo))
        raise InputError(f"{path}: grid '{name}' holds NaN or Inf voxels (first at index {where})")
    meta = dict(grid.metadata)
    return Volume(
        name=grid.name, data=data, offset=lo, matrix=matrix_from_vdb(grid.transform),
        grid_class=str(grid.gridClass), vector_type=str(grid.vectorType),
        metadata={k: v for k, v in meta.items() if k not in _FILE_KEYS},
        background=float(np.asarray(background).flat[0]),
    )


class GridBuilder:
    """A sparse output grid filled block by block, so a large output is never held densely.

    Voxels equal to the background within `tolerance` stay inactive and cost nothing.
    """

    def __init__(self, name: str, matrix: np.ndarray, *, vector: bool = False,
                 grid_class: str | None = None, vector_type: str | None = None,
                 metadata: dict | None = None, half: bool = False, tolerance: float = 0.0):
        vdb = openvdb()
        self.grid = vdb.Vec3SGrid() if vector else vdb.FloatGrid()
        self.grid.name = name
        self.grid.transform = matrix_to_vdb(matrix)
        self.vector = vector
        # vector grids take a per-component tolerance
        self._tol = (float(tolerance),) * 3 if vector else float(tolerance)
        if grid_class is None:
            grid_class = "unknown" if vector else "fog volume"
        self.grid.gridClass = _enum(GRID_CLASSES, grid_class)
        if vector:
            self.grid.vectorType = _enum(VECTOR_TYPE_NAMES, vector_type or "invariant")
        self.grid.saveFloatAsHalf = bool(half)
        if metadata:
            self.grid.updateMetadata({k: _metadata_value(v) for k, v in metadata.items()})

    def paste(self, block: np.ndarray, offset) -> None:
        if block.ndim != (4 if self.vector else 3):
            raise ValueError(f"grid '{self.grid.name}': block of shape {block.shape} does not "
                             f"match a {'vector' if self.vector else 'scalar'} grid")
        if block.size == 0:
            return
        if not np.isfinite(block).all():
            raise InputError(f"grid '{self.grid.name}': refusing to write NaN or Inf voxels "
                             f"(block at index {tuple(int(o) for o in offset)})")
        block = np.ascontiguousarray(block, dtype=np.float32)
        self.grid.copyFromArray(block, tuple(int(o) for o in offset), self._tol)

    def finish(self):
        # Inactive voxels left by copyFromArray still occupy leaves; collapse them.
        self.grid.pruneInactive()
        self.grid.prune(self._tol)
        return self.grid


GRID_CLASSES = ("unknown", "level set", "fog volume", "staggered")
VECTOR_TYPE_NAMES = ("invariant", "covariant", "covariant normalize", "contravariant relative",
                     "contravariant absolute")


def _enum(allowed: tuple[str, ...], value: str) -> str:
    """OpenVDB's Python bindings spell grid classes and vector types as strings."""
    wanted = value.lower().replace("_", " ")
    if wanted not in allowed:
        raise ValueError(f"'{value}' is not one of {', '.join(allowed)}")
    return wanted


def _metadata_value(value):
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list, np.ndarray)) and len(value) == 3 and all(
            isinstance(v, (int, float, np.number)) for v in value):
        return tuple(float(v) for v in value)
    return json.dumps(_jsonable(value))


def volume_to_grid(volume: Volume, *, half: bool = False, tolerance: float = 0.0):
    builder = GridBuilder(volume.name, volume.matrix, vector=volume.is_vector,
                          grid_class=volume.grid_class, vector_type=volume.vector_type,
                          metadata=volume.metadata, half=half, tolerance=tolerance)
    builder.paste(volume.data, volume.offset)
    return builder.finish()


def paste_volumes(builders: dict[str, "GridBuilder"], volumes: list[Volume],
                  half: bool = False) -> None:
    """Paste one region's Volumes into sparse output grids (`builders`, by grid name, created
    on first use): the region-by-region writers (`convert`, `baseline`) never hold a frame's
    bounding box densely."""
    for vol in volumes:
        b = builders.get(vol.name)
        if b is None:
            b = builders[vol.name] = GridBuilder(
                vol.name, vol.matrix, vector=vol.is_vector, grid_class=vol.grid_class,
                vector_type=vol.vector_type, metadata=vol.metadata, half=half)
        b.paste(vol.data, vol.offset)


class WriteAbandoned(Exception):
    """A write given up because its run is stopping (`write_vdb(..., abandon=)`)."""


def write_vdb(path: str | Path, grids: list, *, metadata: dict | None = None,
              half: bool = False, tolerance: float = 0.0, abandon=None) -> Path:
    """Write Volumes and/or finished GridBuilders to `path` atomically: the file appears
    complete or not at all. Density-like scalars default to the fog-volume class.

    `abandon` (a `threading.Event`, for a write on a worker thread, which no Ctrl-C or SIGTERM
    reaches): once set, the write stops before its slow steps (OpenVDB's write, the fsync and
    the check) and raises `WriteAbandoned`, its temporary removed, so a stopping run exits
    promptly and leaves whole frames only."""
    vdb = openvdb()
    built = []
    for g in grids:
        if isinstance(g, Volume):
            built.append(volume_to_grid(g, half=half, tolerance=tolerance))
        elif isinstance(g, GridBuilder):
            built.append(g.finish())
        else:
            built.append(g)
    names = [g.name for g in built]
    if len(set(names)) != len(names):
        raise InputError(f"{path}: two grids share a name ({names})")
    file_meta = {"creator": f"billow {__version__}"}
    file_meta.update({k: _metadata_value(v) for k, v in (metadata or {}).items()})
    expected = [(g.name, int(g.activeVoxelCount())) for g in built]
    def check_abandoned():
        if abandon is not None and abandon.is_set():
            raise WriteAbandoned(f"{path}: not written (the run is stopping)")

    check_abandoned()
    with atomic_path(path, verify=lambda tmp: _verify_written(path, tmp, expected)) as tmp:
        try:
            vdb.write(str(tmp), built, metadata=file_meta)
        except (OSError, RuntimeError) as e:
            raise OutputError(f"{path}: cannot write ({shorten(e)})") from e
        check_abandoned()
    return Path(path)


def _verify_written(path, tmp: Path, expected: list[tuple[str, int]]) -> None:
    """Read back what OpenVDB wrote (it does not report short writes): the grid descriptors
    and their end offsets against the file size, and each grid's name and active voxel count
    against what was meant to be written."""
    try:
        found = read_descriptors(tmp)
        meta = openvdb().readAllGridMetadata(str(tmp))
        counts = [(g.name, int(dict(g.metadata).get("file_voxel_count", -1))) for g in meta]
    except (InputError, RuntimeError, OSError, ValueError, KeyError) as e:
        raise OutputError(f"{path}: short write: the file does not read back complete (disk "
                          "full or a file size limit reached?); the previous file, if any, is "
                          "kept") from e
    # OpenVDB may store the grids in another order than given (seen: alphabetical for some
    # writers), so compare them as sets of (name, voxel count)
    if sorted(d.name for d in found) != sorted(n for n, _ in expected) or \
            sorted(counts) != sorted(expected):
        raise OutputError(f"{path}: the written file does not read back as written (grids "
                          f"{counts} instead of {expected}); the previous file, if any, is kept")
    if found and found[-1].end_offset != tmp.stat().st_size:
        raise OutputError(f"{path}: short write ({tmp.stat().st_size} bytes, the grids end at "
                          f"byte {found[-1].end_offset}); the previous file, if any, is kept")


def vdb_complete(path: str | Path) -> str | None:
    """None if `path` is a complete VDB file (header, every grid's descriptor and data up to
    its end offset); else what is wrong, for a resume to redo the frame."""
    try:
        grids = read_descriptors(path)
        if not grids:
            return "holds no grids"
        if grids[-1].end_offset != Path(path).stat().st_size:
            return f"has {Path(path).stat().st_size - grids[-1].end_offset} bytes after its last grid"
        openvdb().readAllGridMetadata(str(path))
    except InputError as e:
        return str(e).split(": ", 1)[-1]
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        return shorten(e, 120)
    return None


