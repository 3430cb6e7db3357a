"""A baseline on VDB frames: one frame (or one block of a sequence) upres'd with a baseline
method on the exact upres transform, read and written the way `billow upres` does (a sparse
cache region by region, so memory follows the active voxels). `billow baseline` is a thin
adapter over these functions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ..io import ReadOptions, SmokeFrame, Volume, list_grids, read_smoke_frame, upres_matrix
from ..io.aliases import resolve
from ..io.frame import check_plausible, smoke_frame_grids, write_smoke_frame
from ..io.regions import clip_regions, occupied_regions, use_regions
from ..io.vdb import paste_volumes, write_vdb
from ..ops import upsample_velocity

PAD = 1  # beyond a method's reach: keeps a region's border voxels empty


def upres_file(method, src, dst, factor: int, options: ReadOptions, *, with_velocity: bool,
               style: str, half: bool, metadata: dict, warn, message) -> None:
    """Upres the frame `src` into `dst` with a stateless `method` (an interpolation): region by
    region for a sparse cache (`message` says so), else in one block."""
    boxes = frame_regions(src, options, method.reach)
    if boxes:
        message(f"sparse cache, {len(boxes)} occupied region(s) upres'd one by one")
        builders: dict = {}
        file_meta: dict = {}
        for box in boxes:
            smoke = read_smoke_frame(src, replace(options, pad=0), window=box)
            out = upres_smoke(method, smoke, factor, with_velocity, warn)
            grids, file_meta = smoke_frame_grids(
                out, style=style, up_axis=options.up_axis,
                renames={"density": smoke.density.name}, metadata=metadata)
            paste_volumes(builders, grids, half=half)
        write_vdb(dst, list(builders.values()), metadata=file_meta, half=half)
        return
    smoke = read_smoke_frame(src, options)
    out = upres_smoke(method, smoke, factor, with_velocity, warn)
    write_smoke_frame(dst, out, renames={"density": smoke.density.name}, style=style,
                      up_axis=options.up_axis, half=half, metadata=metadata)


def frame_regions(src, options: ReadOptions, reach: int) -> list:
    """The occupied regions of a sparse frame (`billow.io.regions`) grown by the method's
    `reach` (input cells an output voxel reads: 2 for Catmull-Rom) + PAD, cut to the block the
    one-block run reads (the density's active box grown by `--pad`): the interpolations repeat
    that block's border beyond it, so region by region gives the same voxels. [] for a frame
    read in one block."""
    infos = list_grids(src)
    name = resolve(infos, "density", options.density_grid, source=str(src),
                   required=True).names[0]
    info = next(i for i in infos if i.name == name)
    if info.bbox is None or not use_regions(src, [name], reach + PAD + options.pad):
        return []
    lo = [v - options.pad for v in info.bbox[0]]
    hi = [v + options.pad for v in info.bbox[1]]
    return clip_regions(occupied_regions(src, [name], reach + PAD + options.pad), lo, hi)


def upres_smoke(method, smoke: SmokeFrame, f: int, with_velocity: bool, warn) -> SmokeFrame:
    check_plausible(smoke, warn)
    vel = np.moveaxis(smoke.velocity.data, -1, 0) if smoke.velocity is not None else None
    return upres_block(method, smoke, smoke.density.data, vel, f, with_velocity)


def upres_block(method, smoke: SmokeFrame, rho, vel, f: int, with_velocity: bool) -> SmokeFrame:
    """One block (density [x, y, z], velocity [3, x, y, z] or None) upres'd on the exact upres
    transform; the velocity trilinearly when asked for."""
    x = torch.from_numpy(np.ascontiguousarray(rho))
    v = torch.from_numpy(np.ascontiguousarray(vel)) if vel is not None else None
    y = method.step(x, v) if x.numel() else torch.zeros((0, 0, 0))
    hr_matrix = upres_matrix(smoke.density.matrix, f)
    hr_offset = tuple(int(o) * f for o in smoke.density.offset)
    density = Volume(smoke.density.name, y.numpy(), hr_offset, hr_matrix)
    velocity = None
    if with_velocity and v is not None and x.numel():
        vh = upsample_velocity(v, f).permute(1, 2, 3, 0).contiguous().numpy()
        velocity = Volume("vel", vh, hr_offset, hr_matrix, vector_type="contravariant relative")
    return SmokeFrame(smoke.path, density, velocity, {}, dict(smoke.source))
