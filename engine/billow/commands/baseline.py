"""`billow baseline`: upres a VDB sequence the way a user would without billow (nearest,
trilinear, tricubic Catmull-Rom, wavelet turbulence), on the exact upres transform."""

from __future__ import annotations

import dataclasses

from ..baselines import METHODS, WaveletConfig, make_baseline
from ..baselines.frames import upres_block, upres_file
from ..config import add_arguments, from_args
from ..errors import InputError
from ..io import ReadOptions, SmokeFrame, Volume
from ..io.frame import STYLES, write_smoke_frame
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
                out = upres_block(method, block, rho, vel, f, args.velocity)
                write_smoke_frame(dst, out, renames={"density": seq.grid[t]}, **write)
            else:
                upres_file(method, src, dst, f, options, with_velocity=args.velocity,
                           style=args.style, half=args.half, metadata=write["metadata"],
                           warn=progress.warn,
                           message=lambda text: progress.message(f"frame {frame}: {text}"))
            progress.step(frame=frame, file=str(dst))
    return 0
