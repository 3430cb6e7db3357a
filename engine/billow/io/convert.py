"""Rewriting one VDB frame with other grid names, vector layout, units and up axis (`billow
convert`): a sparse frame region by region, pasted into sparse output grids, so memory
follows the active voxels, never the bounding box."""

from __future__ import annotations

from .frame import ReadOptions, read_smoke_frame, smoke_frame_grids, write_smoke_frame
from .regions import occupied_regions, use_regions
from .vdb import list_grids, paste_volumes, write_vdb

PAD = 1  # a staggered velocity needs the face beyond a cell
READ_TYPES = ("float", "double", "half", "vec3s", "vec3d")  # what read_smoke_frame loads


def convert_frame(src, dst, options: ReadOptions, *, drop=(), half: bool = False,
                  message=lambda text: None, **layout) -> None:
    """Read every grid of `src` (but `drop`) and write it to `dst` laid out by `layout`
    (`smoke_frame_grids`' keywords: style, split_vectors, up_axis, velocity_units, renames);
    `message` hears when a sparse frame goes region by region."""
    names = [g.name for g in list_grids(src) if g.name not in drop and g.value_type in READ_TYPES]
    boxes = occupied_regions(src, names, PAD) if use_regions(src, names, PAD) else []
    if not boxes:
        smoke = read_smoke_frame(src, options, extras="all")
        for name in drop:
            smoke.extras.pop(name, None)
        write_smoke_frame(dst, smoke, half=half, **layout)
        return
    message(f"sparse cache, {len(boxes)} occupied region(s) converted one by one")
    builders: dict = {}
    file_meta = {}
    for box in boxes:
        smoke = read_smoke_frame(src, options, extras="all", window=box)
        for name in drop:
            smoke.extras.pop(name, None)
        grids, file_meta = smoke_frame_grids(smoke, **layout)
        paste_volumes(builders, grids, half=half)
    write_vdb(dst, list(builders.values()), metadata=file_meta, half=half)
