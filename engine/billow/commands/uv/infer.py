"""`billow uv infer`: raw UVs -> coherent full-silhouette UVs with a trained UV model."""

from __future__ import annotations

from ...errors import InputError
from ..common import add_frames_argument, add_progress_argument, input_output_frames

SUMMARY = "raw UVs to coherent full-silhouette UVs with a trained UV model"


def add_parser(uv_sub) -> None:
    p = uv_sub.add_parser("infer", help=SUMMARY, description=(
        "Run a trained UV generator on every raw frame (UVs or DensePose IUVs) and write "
        "full-silhouette UVs (16-bit PNG or EXR by extension; --iuv for 8-bit DensePose IUV), "
        "ready for `billow retexture --uv OUT_PATTERN`. Frames are processed whole, or in "
        "tiles with a halo (identical result) with --tile."))
    p.add_argument("--raw", metavar="PATTERN", required=True, help="raw UV frames")
    p.add_argument("--model", metavar="MODEL", required=True, help="exported NAME.onnx (card "
                   "NAME.json beside it) or a training run folder")
    p.add_argument("--out", metavar="PATTERN", required=True, help="output UV frames")
    add_frames_argument(p)
    p.add_argument("--tile", type=int, default=None, help="tile size in pixels (a multiple "
                   "of the model's stride) for frames too large to run whole")
    p.add_argument("--iuv", action="store_true", help="write 8-bit DensePose IUV PNGs")
    p.add_argument("--resume", action="store_true", help="skip frames whose output exists")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (0: library default)")
    add_progress_argument(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import torch

    from ...uv.infer import infer_sequence
    from ...uv.model import UVModel

    jobs = input_output_frames(args.raw, args.out, args.frames)
    if args.iuv and not str(args.out).lower().endswith(".png"):
        raise InputError(f"{args.out}: --iuv writes 8-bit PNGs; use a .png pattern")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model = UVModel.load(args.model, threads=args.threads)
    done = infer_sequence(model, jobs, tile=args.tile, iuv=args.iuv, resume=args.resume,
                          progress=args.progress)
    print(f"{args.out}: {done} frame(s) written with {args.model}")
    return 0
