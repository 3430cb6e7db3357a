"""Re-export a committed 3D model with the block-mean projection switched on (issue 17).

The projection (`projection: "block"`, `billow.ops.project_block_means`) has no
weights, so a model trained without it gains it by export alone. The run checkpoints of the
committed training states are not in git (tens of MB), only their generator weights and cards
(`models/training/smooth3d/`); this rebuilds the small checkpoint `billow export` reads from
those, with the projection set, and exports it through `billow.train.export.export` (the one
exporter: ONNX, card, torch weights, ONNX Runtime parity check).

    python tools/with_projection.py models/training/smooth3d/gated/gblock_latest.json \\
        --out /tmp/smoke3d_x4.onnx      # then copy the three files into engine/billow/models/
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

from billow.train.export import export
from billow.train.trainer import CHECKPOINT_FORMAT


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("card", help="model card (.json) with its torch weights beside it")
    ap.add_argument("--out", required=True, help="NAME.onnx to write (with NAME.json, NAME.pt)")
    a = ap.parse_args(argv)
    card_path = Path(a.card)
    try:
        card = json.loads(card_path.read_text())
        training = card["training"]
        model = dict(card["architecture"]["model"], projection="block")
        weights = torch.load(card_path.parent / card["torch"]["weights"], map_location="cpu",
                             weights_only=True)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        print(f"with_projection: {card_path}: not a 3D model card with its torch weights "
              f"beside it ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    if model.get("generator") != "smooth":
        print(f"with_projection: {card_path}: the projection is an option of the 'smooth' "
              f"generator, not '{model.get('generator')}'", file=sys.stderr)
        return 2
    ckpt = {"format": CHECKPOINT_FORMAT, "iteration": training["iterations"],
            "wall_time": training["wall_time_s"], "hardware": training["hardware"],
            "config": {"model": model, "augment": training["augment"],
                       "train": training["config"]},
            "train_ids": training["train_sims"], "val_ids": training["validation_sims"],
            "models": {"G": weights}}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "checkpoint.pt"
        torch.save(ckpt, run)
        made = export(run, a.out)
    print(f"{a.out}: {made['architecture']['generator']} generator with the block projection, "
          f"halo {made['halo']}, ONNX parity {made['export_parity_rel_error']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
