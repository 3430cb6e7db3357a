"""`billow baseline`: upres a VDB sequence the way a user would without billow (nearest,
trilinear, tricubic Catmull-Rom, wavelet turbulence), on the exact upres transform."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import torch

from ..baselines import METHODS, WaveletConfig, make_baseline
from ..baselines.interp import upsample_velocity
from ..config import add_arguments, from_args
from ..errors import InputError
from ..io import ReadOptions, SmokeFrame, Volume, read_smoke_frame, upres_matrix
from ..io import list_grids
from ..io.aliases import resolve
from ..io.frame import STYLES, check_plausible, smoke_frame_grids, write_smoke_frame
from ..io.regions import clip_regions, occupied_regions, use_regions
from ..io.vdb import paste_volumes, write_vdb
from ..evaluation.sequences import layout, open_sequence, read_density_velocity
from ..progress import Progress
from .common import add_frames_argument, add_progress_argument, input_output_frames


def add_parser(sub) -> None:
    p = sub.add_parser(
        "baseline", help="upres with nearest / trilinear / tricubic / wavelet turbulence",
        description="Upres a VDB file or sequence with a classic method, for comparison with "
        "billow: nearest, trilinear, tricubic (Catmull-Rom, clamped at 0) or wavelet "
        "turbulence (Kim et al. 2008; needs velocity, consecutive frames, deterministic per "
        "--wavelet-seed). Output voxels sit on the exact upres transform; density and the "
        "trilinearly upsampled velocity are written.")
    p.add_argument("input", metavar="IN", help="low-res .vdb file or frame pattern")
    p.add_argument("output", metavar="OUT", help="output .vdb file or frame pattern")
    p.add_argument("--method", choices=METHODS, default="tricubic",
                   help="upres method (default: tricubic)")
    p.add_argument("--scale", type=int, default=4, help="upres factor (default: 4)")
    add_frames_argument(p)
    p.add_argument("--velocity", action="store_true", default=True,
                   help="also write the upsampled velocity, when the input has one (default)")
    p.add_argument("--no-velocity", dest="velocity", action="store_false",
                   help="write density only")
    p.add_argument("--style", choices=tuple(STYLES), default="houdini",
                   help="naming and units of the written grids (default: houdini); the "
                   "density keeps the input's grid name")
    p.add_argument("--half", action="store_true", help="store floats as 16-bit half")
    add_arguments(p, WaveletConfig, title="wavelet turbulence")
    add_arguments(p, ReadOptions, title="input interpretation")
    add_progress_argument(p)
    p.set_defaults(run=run)


PAD = 3  # Catmull-Rom reaches 2 input cells; one more keeps a region's border voxels empty


def run(args) -> int:
    f = int(args.scale)
    if f < 1:
        raise InputError(f"--scale must be a positive integer, got {args.scale}")
    stateful = args.method == "wavelet"
    options = from_args(ReadOptions, args, require_velocity=stateful)
    jobs = input_output_frames(args.input, args.output, args.frames)
    params = dataclasses.asdict(from_args(WaveletConfig, args)) if stateful else {}
    method = make_baseline(args.method, f, **params)
    if stateful:
        # one fixed block for the whole sequence (the union of the active boxes): the advected
        # texture coordinates and energy live on it from frame to frame. A block over the
        # dense-memory limit is refused in one line (docs/guarantees.md: why not by region)
        seq = open_sequence("input", args.input, args.frames, options)
        lay = layout(seq, [], f)
    write = dict(style=args.style, up_axis=options.up_axis, half=args.half,
                 metadata={"billow_baseline": args.method, "billow_scale": f})
    with Progress(len(jobs), f"baseline {args.method}", args.progress) as progress:
        for t, (frame, src, dst) in enumerate(jobs):
            if stateful:
                rho, vel = read_density_velocity(seq, t, lay.lr_lo, lay.lr_shape, options)
                block = SmokeFrame(src, Volume(seq.grid[t], rho, tuple(lay.lr_lo), seq.matrix),
                                   None, {}, {"fps": options.fps})
                out = _upres(method, block, rho, vel, f, args.velocity)
                write_smoke_frame(dst, out, renames={"density": seq.grid[t]}, **write)
            elif (boxes := _regions(src, options)):
                progress.message(f"frame {frame}: sparse cache, {len(boxes)} occupied "
                                 "region(s) upres'd one by one")
                builders: dict = {}
                file_meta: dict = {}
                for box in boxes:
                    smoke = read_smoke_frame(src, replace(options, pad=0), window=box)
                    out = _upres_smoke(method, smoke, f, args.velocity, progress.warn)
                    grids, file_meta = smoke_frame_grids(
                        out, style=args.style, up_axis=options.up_axis,
                        renames={"density": smoke.density.name}, metadata=write["metadata"])
                    paste_volumes(builders, grids, half=args.half)
                write_vdb(dst, list(builders.values()), metadata=file_meta, half=args.half)
            else:
                smoke = read_smoke_frame(src, options)
                out = _upres_smoke(method, smoke, f, args.velocity, progress.warn)
                write_smoke_frame(dst, out, renames={"density": smoke.density.name}, **write)
            progress.step(frame=frame, file=str(dst))
    return 0


def _regions(src, options: ReadOptions) -> list:
    """The occupied regions of a sparse frame (`billow.io.regions`), cut to the block the
    one-block run reads (the density's active box grown by `--pad`): the interpolations repeat
    that block's border beyond it, so region by region gives the same voxels. [] for a frame
    read in one block."""
    infos = list_grids(src)
    name = resolve(infos, "density", options.density_grid, source=str(src),
                   required=True).names[0]
    info = next(i for i in infos if i.name == name)
    if info.bbox is None or not use_regions(src, [name], PAD + options.pad):
        return []
    lo = [v - options.pad for v in info.bbox[0]]
    hi = [v + options.pad for v in info.bbox[1]]
    return clip_regions(occupied_regions(src, [name], PAD + options.pad), lo, hi)


def _upres_smoke(method, smoke: SmokeFrame, f: int, with_velocity: bool, warn) -> SmokeFrame:
    check_plausible(smoke, warn)
    vel = np.moveaxis(smoke.velocity.data, -1, 0) if smoke.velocity is not None else None
    return _upres(method, smoke, smoke.density.data, vel, f, with_velocity)


def _upres(method, smoke: SmokeFrame, rho, vel, f: int, with_velocity: bool) -> SmokeFrame:
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
