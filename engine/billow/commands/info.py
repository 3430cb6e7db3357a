"""`billow info`: what is in a VDB file or sequence, per frame, without loading voxel data."""

from __future__ import annotations

import json

import numpy as np

from ..io.sequence import resolve_frames
from ..io.vdb import list_grids
from .common import add_frames_argument


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="list the grids of a VDB file or sequence",
                       description="Per frame: grids, value types, classes, voxel sizes, "
                       "active bounding boxes, active voxel counts and memory, read from the "
                       "grid headers only (fast on large caches).")
    p.add_argument("path", metavar="PATH_OR_PATTERN",
                   help="a .vdb file or a frame pattern (smoke.####.vdb, smoke.$F4.vdb, "
                   "smoke.%%04d.vdb)")
    add_frames_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def _mb(n: float) -> str:
    return f"{n / 2**20:.1f}"


def run(args) -> int:
    frames = resolve_frames(args.path, args.frames)
    report = []
    for frame, path in frames:
        grids = list_grids(path)
        report.append({"frame": frame, "path": str(path), "grids": [g.as_dict() for g in grids]})
        if args.json:
            continue
        head = f"frame {frame}: {path}" if frame is not None else str(path)
        print(head)
        if not grids:
            print("  (no grids)")
            continue
        print(f"  {'grid':<14} {'type':<7} {'class':<11} {'voxel size':<22} "
              f"{'active bbox (index)':<34} {'active':>10} {'mem MB':>8} {'dense MB':>9}")
        for g in grids:
            vs = "x".join(f"{v:.4g}" for v in g.voxel_size)
            if len(set(np.round(g.voxel_size, 9))) == 1:
                vs = f"{g.voxel_size[0]:.4g}"
            bbox = "empty" if g.bbox is None else f"{tuple(g.bbox[0])}-{tuple(g.bbox[1])}"
            # what loading the active bounding box densely as float32 costs
            dense = float(np.prod(g.dense_shape)) * 4 * (3 if g.is_vector else 1)
            half = " (half)" if g.saved_as_half else ""
            print(f"  {g.name:<14} {g.value_type:<7} {g.grid_class:<11} {vs:<22} {bbox:<34} "
                  f"{g.active_voxels:>10} {_mb(g.mem_bytes):>8} {_mb(dense):>9}{half}")
    if args.json:
        print(json.dumps(report if len(report) > 1 or frames[0][0] is not None else report[0],
                         indent=1))
    elif len(frames) > 1:
        print(f"{len(frames)} frames")
    return 0
