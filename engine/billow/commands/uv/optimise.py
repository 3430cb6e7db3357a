"""`billow uv optimise`: UVs optimised against the frames (Sec. 5.2.2, Eq. 5.10)."""

from __future__ import annotations

import dataclasses
import json

from ...config import add_arguments, from_args
from ...uv.optimise import OptimiseConfig
from . import UV_COMMANDS
from .common import add_inputs, add_runtime, add_texture_size, load_inputs


def add_parser(uv_sub) -> None:
    p = uv_sub.add_parser(
        "optimise", help=UV_COMMANDS["optimise"],
        description="Minimise the appearance loss ||W(W(I, omega_T(P)), omega_I(P)) - I||^2 "
        "plus the gradient and Hessian regularisers of Eq. 5.10 by gradient descent on the UVs "
        "of all frames at once (CPU or GPU). Start from extended UVs (`billow uv extend`).")
    add_inputs(p)
    p.add_argument("--out", metavar="PATTERN", required=True,
                   help="output UV frames (16-bit PNG, or EXR by extension)")
    p.add_argument("--log", metavar="FILE", default=None,
                   help="write the convergence log (loss terms per iteration) as JSON")
    add_texture_size(p)
    add_arguments(p, OptimiseConfig, title="optimisation")
    add_runtime(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...io.atomic import atomic_path
    from ...progress import Progress
    from ...uv.inputs import check_device, output_paths, set_threads, texture_size, write_uvs
    from ...uv.optimise import optimise

    inputs = load_inputs(args)
    paths = output_paths(args.out, inputs.frames)
    cfg = from_args(OptimiseConfig, args)
    check_device(cfg.device)
    set_threads(args.threads)
    size = texture_size(inputs.mask.shape[1:], args.texture_size)
    batch = cfg.batch if cfg.batch > 0 else len(inputs.frames)
    chunks = -(-len(inputs.frames) // batch)
    with Progress(cfg.iters * chunks, "uv optimise", args.progress) as p:
        def step(chunk, it, entry):
            p.step("iteration", chunk=chunk, iter=it, loss=round(entry["loss"], 6),
                   app=round(entry["app"], 6))

        uv, log = optimise(inputs.uv, inputs.mask, inputs.rgb, size, cfg, on_step=step)
        write_uvs(paths, uv, inputs.mask)
    if args.log:
        with atomic_path(args.log) as tmp:
            tmp.write_text(json.dumps({"config": dataclasses.asdict(cfg),
                                       "texture_size": size, "log": log}, indent=1))
    first, last = log[0], log[-1]
    print(f"{args.out}: {len(paths)} frame(s); loss {first['loss']:.4g} -> {last['loss']:.4g} "
          f"(appearance {first['app']:.4g} -> {last['app']:.4g})")
    return 0
