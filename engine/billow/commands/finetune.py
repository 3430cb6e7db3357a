"""`billow finetune`: adapt a trained model to a new kind of scene (dissertation ch. 4)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .common import add_progress_argument
from .train import add_config_arguments, data_folders, dry_run, explicit, print_summary


def add_parser(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a trained model on new simulations",
                       description="Start from a trained run's networks (G, D_s, D_t) and "
                       "train on new paired data with fresh optimisers, optionally with the "
                       "reverse-pass regulariser of ch. 4 (--rr). Unset flags keep the base "
                       "run's config, except: 2000 iterations and learning rate 5e-5.")
    p.add_argument("--base", metavar="MODEL", required=True,
                   help="trained run folder (or its checkpoint.pt), or an exported model "
                   "(NAME.onnx with NAME.json and NAME.pt beside it: generator only)")
    p.add_argument("--data", metavar="NEW_SIMS", required=True, action="append",
                   help="paired data folder; repeat to fine-tune on several together (same "
                   "dimension and factor)")
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
    from ..train.plan import load_base, load_base_weights, plan_finetune
    from ..train.trainer import Trainer

    out = Path(args.out)
    if (out / "checkpoint.pt").exists():
        raise InputError(f"{out}: already holds a training run; choose a new --out")
    base = load_base(Path(args.base))
    cfg = plan_finetune(base, explicit(args), args.rr, args.rr_mode)
    data = data_folders(args.data)
    if args.dry_run:
        return dry_run(cfg, data)
    trainer = Trainer(cfg, out, data_path=data, progress=args.progress)
    load_base_weights(trainer, base)
    print_summary(trainer, trainer.train())
    return 0
