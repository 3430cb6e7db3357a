"""`billow train`: train a tempoGAN model on `billow dataset` pairs (dissertation ch. 3)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..config import add_arguments
from ..errors import InputError
from .common import add_progress_argument

RESUMABLE = {"iterations", "time_limit", "log_every", "val_every", "val_batches", "sample_every",
             "checkpoint_every", "keep_every", "chance_window", "device", "threads", "amp",
             "tensorboard"}


def _sections():
    from ..nets.generators import GeneratorConfig
    from ..train.augment import AugmentConfig
    from ..train.config import TrainConfig

    return GeneratorConfig, AugmentConfig, TrainConfig


def add_config_arguments(p, skip=()) -> None:
    """Every config field as a flag whose default is 'unset', so presets can fill it."""
    for cls in _sections():
        group = add_arguments(p, cls, skip=skip, title=cls.__doc__.splitlines()[0].rstrip("."))
        for action in group._group_actions:
            action.default = None


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
    p.add_argument("--data", metavar="DIR", help="paired data folder (billow dataset --out DIR)")
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


def _plan(args):
    from ..train.config import RunConfig, resolve
    from ..train.trainer import load_checkpoint

    out = Path(args.out)
    given = explicit(args)
    if args.resume:
        ckpt = load_checkpoint(out)
        bad = sorted(set(given) - RESUMABLE)
        if bad or args.preset:
            raise InputError(f"--resume keeps the run's config; cannot change "
                             f"{', '.join(bad) or '--preset'}")
        cfg = RunConfig.from_dict(ckpt["config"]).replace(**given)
        cfg.validate()
        data = args.data
        if data is None:
            split = out / "split.json"
            data = json.loads(split.read_text())["data"]["path"] if split.is_file() else None
        if data is None:
            raise InputError(f"{out}: pass --data (the run does not record its data folder)")
        return cfg, data
    if args.data is None:
        raise InputError("--data DIR is required (a `billow dataset` folder)")
    if (out / "checkpoint.pt").exists():
        raise InputError(f"{out}: already holds a training run; pass --resume to continue it "
                         "or choose a new --out")
    if "dim" not in given and args.preset is None:  # follow the data
        from ..train.data import PairedData

        given["dim"] = PairedData(args.data).dim
    return resolve(args.preset, **given), args.data


def dry_run(cfg, data_dir) -> int:
    from ..train.data import PairedData

    data = PairedData(data_dir)
    if data.dim != cfg.model.dim:
        raise InputError(f"{data.root}: data is {data.dim}D but --dim is {cfg.model.dim}")
    train, val = data.split(cfg.train.val_fraction, cfg.train.seed)
    import torch

    from ..train.data import TileSampler

    TileSampler(data, train, cfg.train.tile, cfg.train.context, cfg.augment,
                torch.Generator())  # checks that tiles fit the data
    print(json.dumps({"config": cfg.to_dict(), "data": data.describe(),
                      "split": {"train": train, "val": val}}, indent=2))
    return 0


def run(args) -> int:
    cfg, data_dir = _plan(args)
    if args.dry_run:
        return dry_run(cfg, data_dir)
    from ..train.trainer import Trainer

    trainer = Trainer(cfg, args.out, data_path=data_dir, progress=args.progress)
    if args.resume:
        trainer.load(Path(args.out))
    _report(trainer, trainer.train())
    return 0


def _report(trainer, last: dict) -> None:
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
