"""`billow upres`: the main job. A coarse smoke cache in, a 4x (8x, 16x) detailed one out."""

from __future__ import annotations

import json
import time

from ..config import add_arguments, from_args
from ..errors import InputError
from ..infer.config import PRECISIONS, UpresConfig
from ..io import ReadOptions
from .common import (
    add_chunk_arguments,
    add_frames_argument,
    add_progress_argument,
    input_output_frames,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "upres", help="upres a smoke cache with the neural model (the main job)",
        description="Super-resolve a VDB smoke sequence: density (+ velocity) in, detailed "
        "density out, tile by tile over the active region only, written sparsely and "
        "atomically per frame. Frames are independent: split them over a farm with --chunk "
        "and --chunk-index, resume a killed run with --skip-existing. Exit codes: 2 bad "
        "input, 3 unwritable output, 1 runtime failure.")
    p.add_argument("input", metavar="IN_PATTERN", help="input .vdb file or frame pattern")
    p.add_argument("output", metavar="OUT_PATTERN", help="output .vdb file or frame pattern")
    p.add_argument("--model", default=None,
                   help="ONNX model with its .json card beside it (default: the shipped 3D x4)")
    add_frames_argument(p)
    add_chunk_arguments(p)
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (frames, input and output paths, model, tile size and "
                   "count, halo, estimated memory) from the files' headers and exit; writes "
                   "nothing")
    p.add_argument("--backend", choices=("onnxruntime", "torch"), default="onnxruntime",
                   help="inference backend (default: onnxruntime)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="(default: cpu)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="network precision; fp16 needs --backend torch --device cuda, bf16 "
                   "--backend torch on a GPU or on a CPU with bf16 instructions (AVX512-BF16, "
                   "AMX: about 2x faster than fp32 there, output within 0.3%% of it)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    p.add_argument("--preview", metavar="DIR_OR_PNG", default=None,
                   help="write a picture of input vs output side by side (emission/absorption "
                   "projection along z, or y for z-up caches) every --preview-every frames: "
                   "into DIR as preview.####.png, or to one .png overwritten with the latest "
                   "frame; and a GIF of them at the end (DIR/preview.gif or PNG's name .gif)")
    p.add_argument("--preview-every", type=int, default=1, metavar="N",
                   help="preview every N-th frame (and the last) (default: 1)")
    add_arguments(p, UpresConfig, title="upres")
    add_arguments(p, ReadOptions, skip=("pad",), title="input interpretation")
    add_progress_argument(p)
    p.set_defaults(run=run)


def run(args, backend_for=None) -> int:
    """`backend_for(card, backend, device, precision, threads)`: where the network comes from
    (default: loaded here; `billow serve` passes its warm cache)."""
    # heavy imports (torch, onnxruntime) only when the command runs: `billow --help` and the
    # DCC add-ons' `billow --version` stay fast
    from ..farm import select_chunk
    from ..infer import load_card, make_backend, upres_sequence
    from ..infer.models import default_model

    model = args.model or default_model()
    card = load_card(model)
    cfg = from_args(UpresConfig, args)
    opt = from_args(ReadOptions, args)
    jobs = select_chunk(input_output_frames(args.input, args.output, args.frames),
                        args.chunk, args.chunk_index)
    from ..io.model_card import card_path
    from .common import refuse_overwriting_inputs

    refuse_overwriting_inputs([j[2] for j in jobs], [model, card_path(model)])
    if cfg.batch < 1:
        raise InputError(f"--batch {cfg.batch}: must be at least 1")
    if args.threads < 0:
        raise InputError(f"--threads {args.threads}: must be 0 (all cores) or a positive count")
    if cfg.tile < 1:
        raise InputError(f"--tile {cfg.tile}: must be at least 1")
    if cfg.max_memory is not None and not cfg.max_memory > 0:
        raise InputError(f"--max-memory {cfg.max_memory}: must be a positive number of GB")
    if args.preview_every < 1:
        raise InputError(f"--preview-every {args.preview_every}: must be at least 1")
    if args.dry_run:
        from ..infer.plan import format_plan, plan_upres

        plan = plan_upres(jobs, card, model, cfg, opt, skip_existing=args.skip_existing)
        print(json.dumps({"event": "plan", **plan}) if args.progress == "json"
              else format_plan(plan), flush=True)
        return 0
    preview = None
    if args.preview:
        from ..infer.preview import UpresPreview

        refuse_overwriting_inputs([args.preview], [j[1] for j in jobs])
        preview = UpresPreview(args.preview, args.preview_every, scale=cfg.scale,
                               up=opt.up_axis, label=card.name)
    start = time.perf_counter()
    backend = (backend_for or make_backend)(card, args.backend, args.device, args.precision,
                                            args.threads)
    written = upres_sequence(jobs, backend, card, cfg, opt, progress_mode=args.progress,
                             skip_existing=args.skip_existing, preview=preview,
                             settings={"billow_backend": backend.name,
                                       "billow_device": args.device,
                                       "billow_precision": args.precision})
    gif = preview.close() if preview is not None else None
    folders = sorted({str(j[2].parent) for j in jobs})
    text = (f"billow upres: {written} frame{'s' * (written != 1)} written in "
            f"{time.perf_counter() - start:.1f} s to {', '.join(folders)}")
    if preview is not None and preview.written:
        text += f"; preview {preview.last_png}" + (f", {gif}" if gif else "")
    if args.progress == "json":
        print(json.dumps({"event": "summary", "text": text, "frames": written,
                          "folders": folders, "preview": str(gif or preview.last_png)
                          if preview is not None and preview.written else None}), flush=True)
    elif args.progress != "none":
        print(text, flush=True)
    return 0
