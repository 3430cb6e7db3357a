"""`billow uv relocate`: one constant texture T_o and UVs P^f that map every frame into it
(Sec. 5.2.3)."""

from __future__ import annotations

from ...config import add_arguments, from_args
from ...uv.relocate import RelocateConfig
from . import UV_COMMANDS
from .common import add_inputs, add_runtime, add_texture_size, load_inputs


def add_parser(uv_sub) -> None:
    p = uv_sub.add_parser(
        "relocate", help=UV_COMMANDS["relocate"],
        description="Take the texture of one frame as the constant texture T_o and relocate "
        "every frame's UVs into it: optical flow between the frame's texture and T_o in "
        "texture space, rejection of correspondences whose colours do not match, refill by "
        "patch similarity (Eq. 5.11). Start from optimised UVs (`billow uv optimise`).")
    add_inputs(p)
    p.add_argument("--out", metavar="PATTERN", required=True,
                   help="output UV frames P^f (16-bit PNG, or EXR by extension)")
    p.add_argument("--texture-out", metavar="FILE", required=True,
                   help="the constant texture T_o (8-bit PNG, atlas layout)")
    add_texture_size(p)
    add_arguments(p, RelocateConfig, title="relocation")
    p.add_argument("--reference-frame", type=int, default=None, metavar="F",
                   help="frame number whose texture becomes T_o (default: the first frame)")
    add_runtime(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...progress import Progress
    from ...uv import io as uvio
    from ...uv.inputs import frame_index, output_paths, set_threads, texture_size, write_uvs
    from ...uv.relocate import relocate

    inputs = load_inputs(args)
    paths = output_paths(args.out, inputs.frames)
    ref = 0 if args.reference_frame is None else frame_index(inputs.frames,
                                                             args.reference_frame)
    set_threads(args.threads)
    size = texture_size(inputs.mask.shape[1:], args.texture_size)
    cfg = from_args(RelocateConfig, args)
    with Progress(len(paths), "uv relocate", args.progress) as p:
        def on_frame(t, rejected):
            p.step(frame=inputs.frames[t], rejected=round(rejected, 4))

        uv, tex, _, info = relocate(inputs.uv, inputs.mask, inputs.rgb, size, cfg, ref,
                                    on_frame=on_frame)
        write_uvs(paths, uv, inputs.mask)
        uvio.write_rgb(args.texture_out, tex)
    mean = sum(info["rejected"]) / max(len(info["rejected"]) - 1, 1)
    print(f"{args.out}: {len(paths)} frame(s) relocated into {args.texture_out} "
          f"({size[1]}x{size[0]}); {100 * mean:.1f}% of texels refilled on average")
    return 0
