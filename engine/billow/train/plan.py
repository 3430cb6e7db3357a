"""What a training run will do, decided before it starts: a new run (field defaults <- preset
<- explicit settings), a resumed one (its checkpoint's config; only `RESUMABLE` fields may
change), or a fine-tuning run from a trained or exported model (dissertation ch. 4).

`billow train` and `billow finetune` are thin adapters over these functions. The rules both
trainers share (the presets, the resume rule, never overwriting a run) are `billow.run.plan`'s
and `billow.run.folder`'s.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import InputError
from ..run import folder, plan

RESUMABLE = {"iterations", "time_limit", "log_every", "val_every", "val_batches", "sample_every",
             "checkpoint_every", "keep_every", "chance_window", "device", "threads", "amp",
             "tensorboard"}

# fine-tuning keeps the architecture: these may not differ from the base model's
ARCHITECTURE = ("generator", "dim", "use_velocity", "use_vorticity", "width", "blocks",
                "mid_channels", "fine_channels", "normalise", "detail_gate")
FINETUNE_DEFAULTS = {"iterations": 2000, "lr": 5e-5}


def sections():
    """The config sections a run's flags fill: generator, augmentation, training."""
    from ..nets.generators import GeneratorConfig
    from .augment import AugmentConfig
    from .config import TrainConfig

    return GeneratorConfig, AugmentConfig, TrainConfig


def plan_run(out, data: str | list[str] | None, preset: str | None, given: dict,
             resume: bool = False):
    """(RunConfig, data folder or folders) of a new run in `out`, or of resuming the one
    there. `given`: the settings set explicitly (field name -> value)."""
    from .config import RunConfig, resolve
    from .trainer import load_checkpoint

    out = Path(out)
    if resume:
        ckpt = load_checkpoint(out)
        plan.check_resume(given, RESUMABLE, preset)
        cfg = RunConfig.from_dict(ckpt["config"]).replace(**given)
        cfg.validate()
        if data is None:
            split = out / "split.json"
            data = json.loads(split.read_text())["data"]["path"] if split.is_file() else None
        if data is None:
            raise InputError(f"{out}: pass --data (the run does not record its data folder)")
        return cfg, data
    if data is None:
        raise InputError("--data DIR is required (a `billow dataset` folder)")
    folder.refuse_existing(out)
    given = dict(given)
    if "dim" not in given and preset is None:  # follow the data
        from .data import PairedData

        given["dim"] = PairedData(data).dim
    return resolve(preset, **given), data


def describe_plan(cfg, data_dir) -> dict:
    """The resolved config, the data and its train/validation split, after checking that
    the data fits the config (dimension, tile size); nothing is written."""
    import torch

    from .data import PairedData, TileSampler

    data = PairedData(data_dir)
    if data.dim != cfg.model.dim:
        raise InputError(f"{data.root}: data is {data.dim}D but --dim is {cfg.model.dim}")
    train, val = data.split(cfg.train.val_fraction, cfg.train.seed)
    TileSampler(data, train, cfg.train.tile, cfg.train.context, cfg.augment,
                torch.Generator())  # checks that tiles fit the data
    return {"config": cfg.to_dict(), "data": data.describe(),
            "split": {"train": train, "val": val}}


def load_base(path: Path) -> dict:
    """The model a fine-tuning run starts from: a run folder / checkpoint (config and all three
    networks under "models"), or an exported model (NAME.onnx or NAME.json with NAME.pt beside
    it: config and "generator" weights only)."""
    import torch

    from .trainer import load_checkpoint

    path = Path(path)
    if path.suffix not in (".onnx", ".json"):
        return load_checkpoint(path)
    card_file, weights = path.with_suffix(".json"), path.with_suffix(".pt")
    try:
        card = json.loads(card_file.read_text())
        config = {"model": card["architecture"]["model"], "train": card["training"]["config"]}
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise InputError(f"{card_file}: not a billow-exported model card ({e})") from e
    if not weights.is_file():
        raise InputError(f"{weights}: missing; fine-tuning needs the weights `billow export` "
                         "writes beside the .onnx")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError) as e:
        raise InputError(f"{weights}: cannot load ({e})") from e
    from .augment import AugmentConfig

    # cards written before the "augment" field existed: the defaults
    config["augment"] = card["training"].get("augment") or dataclasses.asdict(AugmentConfig())
    return {"config": config, "generator": state}


def base_setting(base: dict, name: str):
    """The base model's value of config field `name` (None when no section has it)."""
    for section in base["config"].values():
        if name in section:
            return section[name]
    return None


def plan_finetune(base: dict, given: dict, rr: float | None = None,
                  rr_mode: str | None = None):
    """The RunConfig of fine-tuning `base` (`load_base`): its config, then
    `FINETUNE_DEFAULTS`, then `given`; the architecture fixed (and the discriminators' tile
    and norm when they come along); `rr` the reverse-pass weight, which switches `rr_mode`
    to local unless given."""
    from .config import RunConfig

    given = {**FINETUNE_DEFAULTS, **given}
    fixed_fields = list(ARCHITECTURE)
    if "models" in base:  # its discriminators come along, so their shape is fixed too
        fixed_fields += ["tile", "d_norm"]
    for fixed in fixed_fields:
        if fixed in given and given[fixed] != base_setting(base, fixed):
            raise InputError(f"--{fixed.replace('_', '-')}: the base model was trained with "
                             f"{base_setting(base, fixed)!r}; fine-tuning keeps the "
                             "architecture")
    mode = rr_mode or ("local" if rr else None)
    if mode:
        given["rr"] = mode
    if rr is not None:
        given["rr_lambda"] = rr
    cfg = RunConfig.from_dict(base["config"]).replace(**given)
    cfg.validate()
    return cfg


def load_base_weights(trainer, base: dict) -> None:
    """Put the base model's networks into a new trainer: all three from a training run, the
    generator alone from an exported model (fresh discriminators, any temporal mode). A new
    weight average (`--ema`) continues the base run's where it kept one (so continuing a run
    does not lose it), else starts at the base's generator."""
    if "models" in base:
        for k, m in trainer.nets.items():
            if k in base["models"]:
                m.load_state_dict(base["models"][k])
    else:
        trainer.G.load_state_dict(base["generator"])
    trainer.restore_ema(base)
