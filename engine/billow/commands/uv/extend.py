"""`billow uv extend`: raw, body-only UVs to the whole foreground silhouette (Sec. 5.2.1)."""

from __future__ import annotations

from ...config import add_arguments, from_args
from ...uv.extend import ExtendConfig
from . import UV_COMMANDS
from .common import add_inputs, add_runtime, load_inputs


def add_parser(uv_sub) -> None:
    p = uv_sub.add_parser(
        "extend", help=UV_COMMANDS["extend"],
        description="Extrapolate raw UVs (DensePose IUV or body-only UVs) to every foreground "
        "pixel of the RGB frames (loose garments, hair) with a mass-spring relaxation in "
        "texture space, push then pull, keeping the map one-to-one. Part ids of new pixels "
        "come from their nearest raw pixel; no garment labels are needed.")
    add_inputs(p)
    p.add_argument("--out", metavar="PATTERN", required=True,
                   help="output UV frames (16-bit PNG, or EXR by extension)")
    add_arguments(p, ExtendConfig, title="mass-spring relaxation")
    add_runtime(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...progress import Progress
    from ...uv.extend import extend
    from ...uv.inputs import output_paths, set_threads, write_uvs

    inputs = load_inputs(args)
    paths = output_paths(args.out, inputs.frames)
    set_threads(args.threads)
    cfg = from_args(ExtendConfig, args)
    with Progress(cfg.push_iters + cfg.pull_iters, "uv extend", args.progress) as p:
        def log(phase, it, residual):
            p.message(f"{phase} {it}: residual force {residual:.3g}")

        uv, mask, info = extend(inputs.uv, inputs.mask, inputs.fg, cfg, log=log)
        for k in info["empty"]:
            p.warn(f"frame {inputs.frames[k]}: no raw UVs to extend from; written as is")
        write_uvs(paths, uv, mask)
    print(f"{args.out}: {len(paths)} frame(s), {info['missing']} pixel(s) extended")
    return 0
