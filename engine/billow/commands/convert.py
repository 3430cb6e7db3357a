"""`billow convert`: normalise a cache's grid names, vector layout, units and up axis, e.g. a
Blender Mantaflow cache into Houdini-style `density` + `vel` (y-up, world/s) and back."""

from __future__ import annotations

from ..config import add_arguments, from_args
from ..errors import InputError
from ..io.convert import convert_frame
from ..io.frame import STYLES, ReadOptions
from ..io.units import VELOCITY_UNITS
from ..progress import Progress
from .common import add_frames_argument, add_progress_argument, input_output_frames


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert", help="rename grids, merge/split vectors, convert units and up axis",
        description="Rewrite a VDB file or sequence in Houdini style (density, vel; y-up) or "
        "Blender style (density, velocity, heat, color; z-up). Staggered Mantaflow velocity "
        "is centred, split vel.x/.y/.z merged (or written split with --split-vectors). "
        "Every frame is written atomically.")
    p.add_argument("input", metavar="IN", help="input .vdb file or frame pattern")
    p.add_argument("output", metavar="OUT", help="output .vdb file or frame pattern")
    add_frames_argument(p)
    p.add_argument("--style", choices=tuple(STYLES), default="houdini",
                   help="naming, units and up-axis conventions to write (default: houdini)")
    p.add_argument("--split-vectors", action="store_true",
                   help="write vectors as NAME.x/.y/.z scalar grids")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="rename a grid on output (after the style's renaming); repeatable")
    p.add_argument("--drop", action="append", default=[], metavar="NAME",
                   help="leave a grid out of the output (e.g. a second velocity); repeatable")
    p.add_argument("--out-up-axis", choices=("y", "z"), default=None,
                   help="up axis to write (default: y for houdini, z for blender)")
    p.add_argument("--out-velocity-units", choices=VELOCITY_UNITS, default=None,
                   help="velocity units to write (default: world/s)")
    p.add_argument("--half", action="store_true", help="store floats as 16-bit half")
    add_arguments(p, ReadOptions, title="input interpretation")
    add_progress_argument(p)
    p.set_defaults(run=run)


def _renames(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise InputError(f"--rename '{pair}': expected OLD=NEW")
        out[old] = new
    return out


def run(args) -> int:
    renames = _renames(args.rename)
    options = from_args(ReadOptions, args, require_velocity=False, align_velocity=False)
    jobs = input_output_frames(args.input, args.output, args.frames)
    style = dict(style=args.style, split_vectors=args.split_vectors, up_axis=args.out_up_axis,
                 velocity_units=args.out_velocity_units, renames=renames)
    with Progress(len(jobs), "convert", args.progress) as progress:
        for frame, src, dst in jobs:
            convert_frame(src, dst, options, drop=args.drop, half=args.half, **style,
                          message=lambda text: progress.message(f"frame {frame}: {text}"))
            progress.step(frame=frame, file=str(dst))
    return 0

