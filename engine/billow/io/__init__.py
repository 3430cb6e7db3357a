"""VDB, sequence and unit I/O. Volumes are `[x, y, z]` numpy blocks with an index offset and a
4x4 index-to-world matrix (OpenVDB row-vector convention)."""

from .aliases import GridRef, resolve
from .pairs import load_pairs
from .frame import ReadOptions, SmokeFrame, read_smoke_frame, write_smoke_frame
from .sequence import FramePattern, format_frames, parse_frames, resolve_frames
from .transform import upres_matrix, voxel_sizes
from .units import from_cells_per_frame, rotate_up_axis, to_cells_per_frame
from .vdb import GridBuilder, GridInfo, list_grids, read_grid, write_vdb
from .volume import Volume

__all__ = [
    "FramePattern", "GridBuilder", "GridInfo", "GridRef", "ReadOptions", "SmokeFrame", "Volume",
    "format_frames", "from_cells_per_frame", "list_grids", "load_pairs", "parse_frames",
    "read_grid",
    "read_smoke_frame", "resolve", "resolve_frames", "rotate_up_axis", "to_cells_per_frame",
    "upres_matrix", "voxel_sizes", "write_smoke_frame", "write_vdb",
]
