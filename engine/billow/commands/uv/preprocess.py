"""`billow uv preprocess`: raw UVs to the training targets of the UV model in one run:
extend (Sec. 5.2.1), optimise (Sec. 5.2.2), relocate (Sec. 5.2.3)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ...config import add_arguments, from_args
from ...uv.extend import ExtendConfig
from ...uv.optimise import OptimiseConfig
from ...uv.relocate import RelocateConfig
from . import UV_COMMANDS
from .common import add_inputs, add_runtime, add_texture_size, load_inputs


def add_parser(uv_sub) -> None:
    p = uv_sub.add_parser(
        "preprocess", help=UV_COMMANDS["preprocess"],
        description="Extend raw UVs to the silhouette, optimise them against the frames and "
        "relocate them into one constant texture. Writes OUT_DIR/extended, optimised and "
        "relocated (frame.####.png, 16-bit UV PNGs), OUT_DIR/texture.png (T_o) and "
        "OUT_DIR/preprocess.json (settings, wall time per stage, convergence log).")
    add_inputs(p, uv_help="raw UV frames (8-bit DensePose IUV PNG, or 16-bit PNG / EXR UVs)")
    p.add_argument("--out-dir", metavar="DIR", required=True, help="output folder")
    p.add_argument("--reference-frame", type=int, default=None, metavar="F",
                   help="frame number whose texture becomes T_o (default: the first frame)")
    add_texture_size(p)
    add_arguments(p, ExtendConfig, title="extension (mass-spring relaxation)")
    add_arguments(p, OptimiseConfig, title="optimisation")
    add_arguments(p, RelocateConfig, title="relocation")
    add_runtime(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...io.atomic import atomic_path
    from ...progress import Progress
    from ...uv import io as uvio
    from ...uv.inputs import (
        check_device,
        frame_index,
        output_paths,
        set_threads,
        texture_size,
        write_uvs,
    )
    from ...uv.preprocess import STAGES, expected_steps, preprocess

    inputs = load_inputs(args)
    out = Path(args.out_dir)
    name = "frame.####.png" if inputs.frames[0] is not None else "frame.png"
    paths = {s: output_paths(str(out / s / name), inputs.frames) for s in STAGES}
    ref = 0 if args.reference_frame is None else frame_index(inputs.frames,
                                                             args.reference_frame)
    ext_cfg, opt_cfg = from_args(ExtendConfig, args), from_args(OptimiseConfig, args)
    rel_cfg = from_args(RelocateConfig, args)
    check_device(opt_cfg.device)
    set_threads(args.threads)
    size = texture_size(inputs.mask.shape[1:], args.texture_size)
    n = len(inputs.frames)
    with Progress(expected_steps(n, opt_cfg), "uv preprocess", args.progress) as p:
        def extend_log(phase, it, residual):
            p.message(f"extend {phase} {it}: residual force {residual:.3g}")

        def optimise_step(chunk, it, entry):
            p.step("iteration", stage="optimise", iter=it, loss=round(entry["loss"], 6))

        def relocate_step(t, rejected):
            p.step(stage="relocate", frame=inputs.frames[t], rejected=round(rejected, 4))

        def on_stage(stage, uv, mask, seconds, report):
            write_uvs(paths[stage], uv, mask)
            if stage == "extended":
                p.message(f"extended {report['missing']} pixel(s) in {seconds} s")

        res = preprocess(inputs.uv, inputs.mask, inputs.rgb, inputs.fg, size, ext_cfg, opt_cfg,
                         rel_cfg, ref, on_stage=on_stage, extend_log=extend_log,
                         on_step=optimise_step, on_frame=relocate_step)
        uvio.write_rgb(out / "texture.png", res.texture)
    timings = res.timings
    summary = {
        "uv": args.uv, "rgb": args.rgb, "mask": args.mask, "frames": inputs.frames,
        "reference_frame": inputs.frames[ref], "texture_size": list(size),
        "extend": dataclasses.asdict(ext_cfg), "optimise": dataclasses.asdict(opt_cfg),
        "relocate": dataclasses.asdict(rel_cfg), "timings": timings,
        "extend_residual": {"push": res.extend_info["push"], "pull": res.extend_info["pull"]},
        "optimise_log": res.optimise_log, "relocate_rejected": res.relocate_info["rejected"],
    }
    with atomic_path(out / "preprocess.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    print(f"{out}: {n} frame(s) extended ({timings['extend_s']} s), optimised "
          f"({timings['optimise_s']} s), relocated ({timings['relocate_s']} s); T_o = "
          f"{out / 'texture.png'}")
    return 0
