"""One frame of a smoke cache as the engine sees it, whatever tool wrote it.

`read_smoke_frame` finds density, velocity and the optional grids by their DCC names, merges
split vectors, centres Mantaflow's staggered velocity, converts velocity to cells per frame,
aligns it with the density voxels and turns the frame to y-up. `write_smoke_frame` does the
reverse in a chosen naming style. Both record units, fps and up axis in the metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import option
from ..errors import InputError
from .aliases import ROLES, GridRef, resolve
from .resample import resample_onto
from .units import DEFAULT_FPS, VELOCITY_UNITS, from_cells_per_frame, rotate_up_axis, to_cells_per_frame
from .vdb import GridInfo, list_grids, read_grid, write_vdb
from .volume import Volume

STYLES = {
    # role -> grid name written; velocity units written; up axis written
    "houdini": ({"density": "density", "velocity": "vel", "temperature": "temperature",
                 "flame": "flame", "color": "Cd"}, "world/s", "y"),
    "blender": ({"density": "density", "velocity": "velocity", "temperature": "heat",
                 "flame": "flame", "color": "color"}, "world/s", "z"),
}


@dataclass(frozen=True)
class ReadOptions:
    """How to interpret a cache."""

    density_grid: str | None = option(None, "density grid name (default: auto-detect "
                                      "'density')")
    velocity_grid: str | None = option(None, "velocity grid name (default: auto-detect 'vel', "
                                       "'velocity', 'v' or split 'vel.x/.y/.z')")
    velocity_units: str | None = option(
        None, "velocity units of the cache (default: from billow metadata; staggered grids are "
        "Mantaflow's; else world/s)", choices=VELOCITY_UNITS)
    fps: float = option(DEFAULT_FPS, "frames per second, to convert world/s velocity")
    time_scale: float = option(1.0, "Mantaflow time scale (Blender fluid domain setting)")
    up_axis: str = option("y", "up axis of the cache: y (Houdini) or z (Blender)",
                          choices=("y", "z"))
    pad: int = 0
    on_mismatch: str = option("resample", "grids of one frame with different transforms: "
                              "resample velocity onto density, or error",
                              choices=("resample", "error"))
    require_velocity: bool = True
    align_velocity: bool = True  # False keeps velocity on its own voxels (for convert)


@dataclass
class SmokeFrame:
    """Density and velocity on the same voxels, y-up, velocity in cells per frame.

    `extras` holds the other grids on their own voxels (temperature, flame, color and any
    unrecognised float grid), keyed by role or, for unrecognised grids, by name.
    """

    path: Path
    density: Volume
    velocity: Volume | None
    extras: dict[str, Volume] = field(default_factory=dict)
    source: dict = field(default_factory=dict)


def read_smoke_frame(path: str | Path, options: ReadOptions | None = None, *,
                     extras: str | tuple[str, ...] = (), window=None) -> SmokeFrame:
    """Load a frame. `extras` is a tuple of roles to load too, or `"all"` for every grid.
    With `window` (an inclusive index box of the density grid), only that box is read, of
    every grid on the density's voxels (`billow.io.regions`: sparse caches, region by
    region)."""
    opt = options or ReadOptions()
    path = Path(path)
    infos = list_grids(path)
    by_name = {i.name: i for i in infos}
    dens_ref = resolve(infos, "density", opt.density_grid, source=str(path), required=True)
    vel_ref = resolve(infos, "velocity", opt.velocity_grid, source=str(path),
                      required=opt.require_velocity)
    density = read_grid(path, dens_ref.names[0], pad=opt.pad, bbox=window)
    if density.is_vector:
        raise InputError(f"{path}: density grid '{density.name}' is a vector grid")
    density.data = density.data.astype(np.float32, copy=False)
    source = {"density": dens_ref.names[0], "up_axis": opt.up_axis, "fps": opt.fps}

    velocity = None
    if vel_ref is not None:
        velocity, units = _read_velocity(path, vel_ref, by_name, density, opt, window)
        source.update(velocity="/".join(vel_ref.names), velocity_units=units)

    loaded = {n for r in (dens_ref, vel_ref) if r for n in r.names}
    extra_volumes = {}
    for role in (ROLES if extras == "all" else extras):
        if role in ("density", "velocity"):
            continue
        ref = resolve(infos, role, source=str(path))
        if ref is not None:
            extra_volumes[role] = _read_ref(path, ref, by_name,
                                            _same_voxels(by_name[ref.names[0]], density, window))
            loaded.update(ref.names)
    if extras == "all":
        for info in infos:
            if info.name not in loaded and info.value_type in ("float", "double", "half",
                                                                "vec3s", "vec3d"):
                extra_volumes[info.name] = read_grid(path, info.name,
                                                     bbox=_same_voxels(info, density, window))

    if opt.up_axis != "y":
        density = rotate_up_axis(density, opt.up_axis)
        velocity = velocity and rotate_up_axis(velocity, opt.up_axis)
        extra_volumes = {k: rotate_up_axis(v, opt.up_axis) for k, v in extra_volumes.items()}
    return SmokeFrame(path, density, velocity, extra_volumes, source)


def _same_voxels(info: GridInfo, density: Volume, window):
    """`window` if the grid shares the density's voxels (else None: its own bounding box)."""
    if window is None or not np.allclose(info.matrix, density.matrix, rtol=1e-6, atol=1e-9):
        return None
    return window


def _read_ref(path: Path, ref: GridRef, by_name: dict[str, GridInfo], bbox=None) -> Volume:
    """A role's grid as one Volume: split components merged, named by the base name."""
    if not ref.is_split:
        vol = read_grid(path, ref.names[0], bbox=bbox)
        return vol.with_data(vol.data.astype(np.float32, copy=False))
    parts = [by_name[n] for n in ref.names]
    if any(not np.allclose(p.matrix, parts[0].matrix) for p in parts):
        raise InputError(f"{path}: components {'/'.join(ref.names)} have different transforms")
    if bbox is None:
        boxes = [p.bbox for p in parts if p.bbox is not None]
        bbox = ((tuple(np.min([b[0] for b in boxes], axis=0)),
                 tuple(np.max([b[1] for b in boxes], axis=0))) if boxes else None)
    comps = [read_grid(path, n, bbox=bbox) for n in ref.names] if bbox else []
    if not comps:
        comps = [read_grid(path, ref.names[0])] * 3
    data = np.stack([c.data.astype(np.float32) for c in comps], axis=-1)
    return comps[0].with_data(data, name=ref.base_name, vector_type="contravariant relative")


def _read_velocity(path: Path, ref: GridRef, by_name: dict[str, GridInfo], density: Volume,
                   opt: ReadOptions, window=None) -> tuple[Volume, str]:
    first = by_name[ref.names[0]]
    staggered = first.grid_class == "staggered"
    units = opt.velocity_units or first.metadata.get("billow_velocity_units") or (
        "mantaflow" if staggered else "world/s")
    aligned = np.allclose(first.matrix, density.matrix, rtol=1e-6, atol=1e-9)
    if opt.on_mismatch == "error" and not aligned:
        raise InputError(
            f"{path}: velocity grid '{first.name}' (voxel size {np.round(first.voxel_size, 6)})"
            f" and density grid '{density.name}' (voxel size {np.round(density.voxel_size, 6)})"
            " have different transforms; resample them to one grid")
    bbox = None
    if aligned and opt.align_velocity and density.data.size:
        lo, hi = density.index_bbox
        # a staggered grid needs the face beyond the last cell to centre it
        bbox = (lo, tuple(h + 1 for h in hi)) if staggered else (lo, hi)
    elif aligned and window is not None:
        lo, hi = window
        bbox = (tuple(lo), tuple(h + 1 for h in hi)) if staggered else window
    vel = _read_ref(path, ref, by_name, bbox)
    if staggered:
        vel = _centre_staggered(vel, crop=bbox is not None)
    vel = to_cells_per_frame(vel, units, opt.fps, opt.time_scale)
    if not aligned and opt.align_velocity:
        # cells of the velocity grid -> cells of the density grid, then sample at its voxels
        vel.data = vel.data @ (vel.matrix[:3, :3] @ np.linalg.inv(density.matrix[:3, :3])
                               ).astype(np.float32)
        vel = resample_onto(vel, density.matrix, density.offset, density.shape)
    elif opt.align_velocity and not density.data.size:
        vel = vel.with_data(np.zeros((0, 0, 0, 3), np.float32), offset=density.offset)
    return vel.with_data(vel.data, grid_class="unknown", vector_type="contravariant relative"), units


def _centre_staggered(vel: Volume, crop: bool) -> Volume:
    """MAC velocity -> cell centres. Voxel i stores u at its lower x face (i - 1/2), v at its
    lower y face and w at its lower z face (OpenVDB's and Mantaflow's convention), so the
    centred value is the mean of the voxel's own face and the next voxel's face per axis."""
    d = vel.data
    # the face beyond the block's last voxel is not stored: repeat the last one (zero-gradient)
    nxt = [np.concatenate([d[1:, :, :, 0], d[-1:, :, :, 0]], axis=0),
           np.concatenate([d[:, 1:, :, 1], d[:, -1:, :, 1]], axis=1),
           np.concatenate([d[:, :, 1:, 2], d[:, :, -1:, 2]], axis=2)]
    centred = 0.5 * (d + np.stack(nxt, axis=-1))
    if crop:  # drop the extra face layer read beyond the density's bounding box
        centred = centred[:-1, :-1, :-1]
    return vel.with_data(np.ascontiguousarray(centred, dtype=np.float32))


def write_smoke_frame(path: str | Path, frame: SmokeFrame, *, style: str = "houdini",
                      split_vectors: bool = False, up_axis: str | None = None,
                      velocity_units: str | None = None, renames: dict[str, str] | None = None,
                      half: bool = False, metadata: dict | None = None) -> Path:
    """Write a frame in `style` naming, turned to `up_axis` (default: the style's), with
    velocity in `velocity_units` (default: the style's)."""
    grids, file_meta = smoke_frame_grids(frame, style=style, split_vectors=split_vectors,
                                         up_axis=up_axis, velocity_units=velocity_units,
                                         renames=renames, metadata=metadata)
    return write_vdb(path, grids, metadata=file_meta, half=half)


def smoke_frame_grids(frame: SmokeFrame, *, style: str = "houdini", split_vectors: bool = False,
                      up_axis: str | None = None, velocity_units: str | None = None,
                      renames: dict[str, str] | None = None,
                      metadata: dict | None = None) -> tuple[list[Volume], dict]:
    """The Volumes `write_smoke_frame` writes, and the file metadata."""
    if style not in STYLES:
        raise InputError(f"unknown style '{style}' (choose {', '.join(STYLES)})")
    names, style_units, style_up = STYLES[style]
    up_axis = up_axis or style_up
    units = velocity_units or style_units
    fps = float(frame.source.get("fps", DEFAULT_FPS))
    renames = renames or {}
    volumes = {"density": frame.density, **frame.extras}
    if frame.velocity is not None:
        volumes["velocity"] = from_cells_per_frame(frame.velocity, units, fps)
    grids = []
    for key, vol in volumes.items():
        name = renames.get(names.get(key, key), names.get(key, key))
        vol = rotate_up_axis(vol, "y", up_axis)
        meta = dict(vol.metadata)
        if key == "velocity":
            meta.update(billow_velocity_units=units, billow_fps=fps)
        meta["billow_up_axis"] = up_axis
        if vol.is_vector and split_vectors:
            for c, axis in enumerate("xyz"):
                grids.append(vol.with_data(np.ascontiguousarray(vol.data[..., c]),
                                           name=f"{name}.{axis}", grid_class="unknown",
                                           metadata=meta))
        else:
            grid_class = "fog volume" if key == "density" else vol.grid_class
            grids.append(vol.with_data(vol.data, name=name, grid_class=grid_class, metadata=meta))
    file_meta = {"billow_up_axis": up_axis, "billow_velocity_units": units,
                 "billow_fps": fps, **(metadata or {})}
    names = [g.name for g in grids]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise InputError(f"{frame.path}: more than one grid would be written as "
                         f"'{clashes[0]}' (an unused grid with a role's name?); leave one out "
                         "with --drop NAME or rename it with --rename")
    return grids, file_meta


MAX_CELLS_PER_FRAME = 1000.0  # beyond this a velocity is a unit or data error, not smoke


def check_plausible(frame: SmokeFrame, warn=None) -> None:
    """Refuse (one line) what would give a silently implausible upres: density that is
    negative everywhere (a negated grid or a level set: the output would be empty) and
    velocities beyond MAX_CELLS_PER_FRAME cells per frame (wrong units; the networks would
    turn them into absurd densities). Some negative voxels beside positive smoke (solver
    undershoot) are treated as empty, with a warning through `warn` when they are large."""
    d = frame.density.data
    if d.size:
        lo, hi = float(d.min()), float(d.max())
        if lo < 0 and hi <= 0:
            raise InputError(f"{frame.path}: grid '{frame.density.name}' holds no positive "
                             f"density (min {lo:.3g}): a negated grid or a level set? billow "
                             "needs density >= 0")
        if lo < -1e-3 * hi and warn is not None:
            count = int((d < -1e-3 * hi).sum())
            warn(f"{frame.path}: {count} voxels of '{frame.density.name}' have negative density "
                 f"(down to {lo:.3g}); they are treated as empty")
    v = frame.velocity
    if v is not None and v.data.size:
        speed = np.abs(v.data).max(axis=-1)
        top = float(speed.max())
        if top > MAX_CELLS_PER_FRAME:
            where = tuple(int(a + o) for a, o in zip(np.unravel_index(int(speed.argmax()),
                                                                       speed.shape), v.offset))
            raise InputError(
                f"{frame.path}: velocity of {top:.3g} cells per frame (at index {where}) is not "
                f"physical (over {MAX_CELLS_PER_FRAME:g}); check --velocity-units and --fps, or "
                "the cache")

