"""`billow finetune`: adapt a trained model to a new kind of scene (dissertation ch. 4)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import InputError
from .common import add_progress_argument
from .train import _report, add_config_arguments, dry_run, explicit


def add_parser(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a trained model on new simulations",
                       description="Start from a trained run's networks (G, D_s, D_t) and "
                       "train on new paired data with fresh optimisers, optionally with the "
                       "reverse-pass regulariser of ch. 4 (--rr). Unset flags keep the base "
                       "run's config, except: 2000 iterations and learning rate 5e-5.")
    p.add_argument("--base", metavar="MODEL", required=True,
                   help="trained run folder (or its checkpoint.pt), or an exported model "
                   "(NAME.onnx with NAME.json and NAME.pt beside it: generator only)")
    p.add_argument("--data", metavar="NEW_SIMS", required=True, help="paired data folder")
    p.add_argument("--out", metavar="RUN", required=True, help="new run folder")
    p.add_argument("--rr", metavar="LAMBDA", type=float, default=None,
                   help="reverse-pass regulariser weight (switches --rr-mode to local unless "
                   "given)")
    p.add_argument("--rr-mode", choices=("off", "local", "full"), default=None,
                   help="reverse-pass variant")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config")
    add_progress_argument(p)
    # the training section's --rr / --rr-lambda are replaced by --rr LAMBDA / --rr-mode above
    add_config_arguments(p, skip=("rr", "rr_lambda"))  # --rr-weights stays
    p.set_defaults(run=run)


def run(args) -> int:
    from ..train.config import RunConfig
    from ..train.trainer import Trainer

    out = Path(args.out)
    if (out / "checkpoint.pt").exists():
        raise InputError(f"{out}: already holds a training run; choose a new --out")
    base = _base(Path(args.base))
    given = explicit(args)
    given.setdefault("iterations", 2000)
    given.setdefault("lr", 5e-5)
    fixed_fields = ["generator", "dim", "use_velocity", "use_vorticity", "width", "blocks",
                    "mid_channels", "fine_channels", "normalise", "detail_gate"]
    if "models" in base:  # its discriminators come along, so their shape is fixed too
        fixed_fields += ["tile", "d_norm"]
    for fixed in fixed_fields:
        if fixed in given and given[fixed] != _get(base, fixed):
            raise InputError(f"--{fixed.replace('_', '-')}: the base model was trained with "
                             f"{_get(base, fixed)!r}; fine-tuning keeps the architecture")
    mode = args.rr_mode or ("local" if args.rr else None)
    if mode:
        given["rr"] = mode
    if args.rr is not None:
        given["rr_lambda"] = args.rr
    cfg = RunConfig.from_dict(base["config"]).replace(**given)
    cfg.validate()
    if args.dry_run:
        return dry_run(cfg, args.data)
    trainer = Trainer(cfg, out, data_path=args.data, progress=args.progress)
    if "models" in base:  # a training run: all three networks
        for k, m in trainer.nets.items():
            if k in base["models"]:
                m.load_state_dict(base["models"][k])
    else:  # an exported model: its generator (fresh discriminators, any temporal mode)
        trainer.G.load_state_dict(base["generator"])
    _report(trainer, trainer.train())
    return 0


def _base(path: Path) -> dict:
    """A run folder / checkpoint, or an exported model (NAME.onnx or NAME.json with NAME.pt)."""
    import json

    import torch

    from ..train.trainer import load_checkpoint

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
    from ..train.augment import AugmentConfig

    # cards written before the "augment" field existed: the defaults
    config["augment"] = card["training"].get("augment") or dataclasses.asdict(AugmentConfig())
    return {"config": config, "generator": state}


def _get(ckpt: dict, name: str):
    for section in ckpt["config"].values():
        if name in section:
            return section[name]
    return None
