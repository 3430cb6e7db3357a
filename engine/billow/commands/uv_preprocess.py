"""`billow uv preprocess`: raw UVs to the training targets of the UV model in one run:
extend (Sec. 5.2.1), optimise (Sec. 5.2.2), relocate (Sec. 5.2.3)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from ..config import add_arguments, from_args
from ..uv.extend import ExtendConfig
from ..uv.optimise import OptimiseConfig
from ..uv.relocate import RelocateConfig
from .uv import UV_COMMANDS
from .uv_common import (
    add_inputs,
    add_runtime,
    add_texture_size,
    frame_index,
    load_inputs,
    output_paths,
    set_threads,
    texture_size,
    write_uvs,
)
from .uv_optimise import check_device

STAGES = ("extended", "optimised", "relocated")


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
    from ..io.atomic import atomic_path
    from ..progress import Progress
    from ..uv import io as uvio
    from ..uv.extend import extend
    from ..uv.optimise import optimise
    from ..uv.relocate import relocate

    inputs = load_inputs(args)
    out = Path(args.out_dir)
    name = "frame.####.png" if inputs.frames[0] is not None else "frame.png"
    paths = {s: output_paths(str(out / s / name), inputs.frames) for s in STAGES}
    ref = 0 if args.reference_frame is None else frame_index(inputs.frames,
                                                             args.reference_frame)
    ext_cfg, opt_cfg = from_args(ExtendConfig, args), from_args(OptimiseConfig, args)
    rel_cfg = from_args(RelocateConfig, args)
    check_device(opt_cfg.device)
    set_threads(args)
    size = texture_size(args, inputs.mask.shape[1:])
    n = len(inputs.frames)
    chunks = -(-n // (opt_cfg.batch if opt_cfg.batch > 0 else n))
    total = opt_cfg.iters * chunks + n  # optimisation iterations + relocated frames
    timings = {}
    with Progress(total, "uv preprocess", args.progress) as p:
        def extend_log(phase, it, residual):
            p.message(f"extend {phase} {it}: residual force {residual:.3g}")

        def optimise_step(chunk, it, entry):
            p.step("iteration", stage="optimise", iter=it, loss=round(entry["loss"], 6))

        def relocate_step(t, rejected):
            p.step(stage="relocate", frame=inputs.frames[t], rejected=round(rejected, 4))

        t0 = time.perf_counter()
        uv_e, mask_e, ext_info = extend(inputs.uv, inputs.mask, inputs.fg, ext_cfg, log=extend_log)
        write_uvs(paths["extended"], uv_e, mask_e)
        timings["extend_s"] = round(time.perf_counter() - t0, 2)
        p.message(f"extended {ext_info['missing']} pixel(s) in {timings['extend_s']} s")

        t0 = time.perf_counter()
        uv_o, log = optimise(uv_e, mask_e, inputs.rgb, size, opt_cfg, on_step=optimise_step)
        write_uvs(paths["optimised"], uv_o, mask_e)
        timings["optimise_s"] = round(time.perf_counter() - t0, 2)

        t0 = time.perf_counter()
        uv_f, tex, _, rel_info = relocate(uv_o, mask_e, inputs.rgb, size, rel_cfg, ref,
                                          on_frame=relocate_step)
        write_uvs(paths["relocated"], uv_f, mask_e)
        uvio.write_rgb(out / "texture.png", tex)
        timings["relocate_s"] = round(time.perf_counter() - t0, 2)
    summary = {
        "uv": args.uv, "rgb": args.rgb, "mask": args.mask, "frames": inputs.frames,
        "reference_frame": inputs.frames[ref], "texture_size": list(size),
        "extend": dataclasses.asdict(ext_cfg), "optimise": dataclasses.asdict(opt_cfg),
        "relocate": dataclasses.asdict(rel_cfg), "timings": timings,
        "extend_residual": {"push": ext_info["push"], "pull": ext_info["pull"]},
        "optimise_log": log, "relocate_rejected": rel_info["rejected"],
    }
    with atomic_path(out / "preprocess.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    print(f"{out}: {n} frame(s) extended ({timings['extend_s']} s), optimised "
          f"({timings['optimise_s']} s), relocated ({timings['relocate_s']} s); T_o = "
          f"{out / 'texture.png'}")
    return 0
