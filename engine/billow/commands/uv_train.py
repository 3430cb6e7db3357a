"""`billow uv train`: train the temporal UV generator (Sec. 5.2.4, App. C.1)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..config import add_arguments
from ..errors import InputError
from .common import add_frames_argument, add_progress_argument

SUMMARY = "train the temporal UV generator (Sec. 5.2.4)"
RESUMABLE = {"iterations", "log_every", "checkpoint_every", "keep_at", "threads",
             "tensorboard"}


def _sections():
    from ..uv.nets import UVNetConfig
    from ..uv.training import UVTrainConfig

    return UVNetConfig, UVTrainConfig


def add_parser(uv_sub) -> None:
    from ..uv.training import PRESETS

    p = uv_sub.add_parser("train", help=SUMMARY, description=(
        "Train G: raw UVs -> full-silhouette, temporally coherent UVs, supervised by the "
        "pre-processed targets P^f (`billow uv preprocess`: DIR/relocated/frame.####.png) "
        "with the constant texture T_o (DIR/texture.png) and the frames. Settings: field "
        "defaults <- --preset <- explicit flags; the resolved config is saved as "
        "RUN/config.json. Checkpoints in RUN/checkpoint.pt, losses in RUN/log.jsonl (and "
        "TensorBoard when installed)."))
    p.add_argument("--raw", metavar="PATTERN", help="raw UVs or DensePose IUVs (frame.####.png)")
    p.add_argument("--target", metavar="PATTERN", help="training targets P^f (relocated UVs)")
    p.add_argument("--rgb", metavar="PATTERN", help="the frames (RGBA, or RGB with --mask)")
    p.add_argument("--mask", metavar="PATTERN", default=None, help="foreground masks, if the "
                   "frames have no alpha")
    p.add_argument("--texture", metavar="PNG", help="the constant texture T_o")
    p.add_argument("--out", metavar="RUN", required=True, help="run folder")
    add_frames_argument(p)
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="paper (App. C.1 step counts) or cpu (the shipped small model)")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN from its "
                   "checkpoint (only --iterations and logging may change)")
    p.add_argument("--branch", metavar="CHECKPOINT", default=None, help="v3 only: start "
                   "from a v2 run's checkpoint at step --pretrain (kept with --keep-at), "
                   "which is exactly V3's stage 1")
    p.add_argument("--dry-run", action="store_true", help="read the data, print the resolved "
                   "config, write nothing")
    add_progress_argument(p)
    for cls in _sections():
        group = add_arguments(p, cls, title=cls.__doc__.splitlines()[0].rstrip("."))
        for action in group._group_actions:
            action.default = None
    p.set_defaults(run=run)


def _explicit(args, cls) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def _plan(args):
    from ..uv.training import PRESETS, UVTrainConfig, load_checkpoint

    net_cls, train_cls = _sections()
    net_given, train_given = _explicit(args, net_cls), _explicit(args, train_cls)
    out = Path(args.out)
    if args.resume:
        ckpt = load_checkpoint(out)
        bad = sorted((set(train_given) - RESUMABLE) | set(net_given))
        if bad or args.preset:
            raise InputError(f"--resume keeps the run's config; cannot change "
                             f"{', '.join(bad) or '--preset'}")
        train = dataclasses.replace(UVTrainConfig(**ckpt["train"]), **train_given)
        src = ckpt.get("data", {})
        data = {k: getattr(args, k) or src.get(k) for k in ("raw", "target", "rgb", "texture",
                                                            "mask")}
        frames = args.frames or ",".join(str(f) for f in src.get("frames", [])) or None
        return net_cls(**ckpt["net"]), train, data, frames
    if (out / "checkpoint.pt").exists():
        raise InputError(f"{out}: already holds a training run; pass --resume to continue it "
                         "or choose a new --out")
    missing = [f"--{k}" for k in ("raw", "target", "rgb", "texture") if not getattr(args, k)]
    if missing:
        raise InputError(f"{', '.join(missing)} required")
    preset = PRESETS[args.preset] if args.preset else {}
    net_fields = {f.name for f in dataclasses.fields(net_cls)}
    train = UVTrainConfig(**{**{k: v for k, v in preset.items() if k not in net_fields},
                             **train_given})
    train.validate()
    net = net_cls(**{**{k: v for k, v in preset.items() if k in net_fields}, **net_given})
    data = {k: getattr(args, k) for k in ("raw", "target", "rgb", "texture", "mask")}
    return net, train, data, args.frames


def run(args) -> int:
    from ..uv.training import UVTrainer, load_clip

    net, train, data, frames = _plan(args)
    clip = load_clip(data["raw"], data["target"], data["rgb"], data["texture"], frames,
                     data["mask"])
    if args.dry_run:
        print(json.dumps({"net": dataclasses.asdict(net), "train": dataclasses.asdict(train),
                          "data": {**clip.source, "frames": clip.frames,
                                   "size": list(clip.raw.shape[-2:])}}, indent=2))
        return 0
    trainer = UVTrainer(net, train, clip, args.out, progress=args.progress)
    if args.resume:
        trainer.load(Path(args.out))
    elif args.branch:
        trainer.branch(args.branch)
    last = trainer.train()
    shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items()
                      if k in ("g_l2", "uv_err", "mask_iou", "d_s", "d_t", "d_img"))
    print(f"{args.out}: {trainer.step_g} generator steps, {trainer.wall_time:.0f} s; {shown}")
    return 0
