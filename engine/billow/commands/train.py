"""`billow train`: train a tempoGAN model on `billow dataset` pairs (dissertation ch. 3)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..config import add_arguments
from .common import add_progress_argument


def _sections():
    from ..train.plan import sections

    return sections()


def add_config_arguments(p, skip=()) -> None:
    """Every config field as a flag whose default is 'unset', so presets can fill it."""
    for cls in _sections():
        group = add_arguments(p, cls, skip=skip, title=cls.__doc__.splitlines()[0].rstrip("."))
        for action in group._group_actions:
            action.default = None


def data_folders(data: list[str] | None) -> str | list[str] | None:
    """--data as given: one folder (a str) or several (a list), None when not given."""
    return data[0] if data and len(data) == 1 else data


def explicit(args) -> dict:
    names = {f.name for cls in _sections() for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def add_parser(sub) -> None:
    from ..train.config import PRESETS

    p = sub.add_parser("train", help="train a tempoGAN upres model",
                       description="Train a generator with spatial and temporal "
                       "discriminators (tempoGAN) on paired data from `billow dataset`. "
                       "Settings: field defaults <- --preset <- explicit flags (the defaults "
                       "shown below are the field defaults; a preset may change them; "
                       "--dry-run prints what applies); the resolved config is saved as "
                       "RUN/config.json.")
    p.add_argument("--data", metavar="DIR", action="append",
                   help="paired data folder (billow dataset --out DIR); repeat to train on "
                   "several folders together (same dimension and factor; their simulations "
                   "are pooled, ids FOLDER/sim_NNNN, split folder by folder)")
    p.add_argument("--out", metavar="RUN", required=True, help="run folder (checkpoint, logs, "
                   "config, samples)")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="starting settings: paper-2d/3d (App. A.2), fast-2d/3d, cpu-small")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN from its "
                   "checkpoint (same config; only --iterations and logging may change)")
    p.add_argument("--dry-run", action="store_true", help="check the data, print the resolved "
                   "config and the split, write nothing")
    add_progress_argument(p)
    add_config_arguments(p)
    p.set_defaults(run=run)


def dry_run(cfg, data_dir) -> int:
    from ..train.plan import describe_plan

    print(json.dumps(describe_plan(cfg, data_dir), indent=2))
    return 0


def run(args) -> int:
    from ..train.plan import plan_run

    cfg, data_dir = plan_run(args.out, data_folders(args.data), args.preset, explicit(args),
                             args.resume)
    if args.dry_run:
        return dry_run(cfg, data_dir)
    from ..train.trainer import Trainer

    trainer = Trainer(cfg, args.out, data_path=data_dir, progress=args.progress)
    if args.resume:
        trainer.load(Path(args.out))
    print_summary(trainer, trainer.train())
    return 0


def print_summary(trainer, last: dict) -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():  # torchrun: one report, clean exit
        dist.destroy_process_group()
    if trainer.rank != 0:
        return
    shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items()
                      if k in ("g_l1", "d_s", "d_t", "val_l1"))
    print(f"{trainer.out}: iteration {trainer.iteration}, {trainer.wall_time:.0f} s; {shown}")
    for w in trainer.warnings:
        print(w)
