"""Re-export a committed 3D model through the current exporter, optionally with a weight-free
output stage switched on: the block-mean projection or the lattice notch (issue 17).

The run checkpoints of committed models are not in git (tens of MB), only their generator
weights and cards; this rebuilds the small checkpoint `billow export` reads from those and
exports it through `billow.train.export.export` (the one exporter: ONNX, card, torch weights,
ONNX Runtime parity check). The weights do not change, so the new card keeps what the source
card says about them (`status`, `status_note`, `reproduce`, `evaluation`, `training`; only
`status`, `reproduce` and `training` when a stage is switched on, below) and the torch weights file stays byte for byte the source's.
Uses: a model trained without the projection gains it (`--projection block`: it has no
weights); a gain-form model gains the lattice notch (`--lattice-notch`,
`billow.ops.dephase`: no weights either); a model exported before an interface change gains the
new interface (gated models take the slider as their own `detail` channel since session 9).
A new stage changes the output, so the source card's `evaluation` and `status_note` are not
carried over then: the new card's evaluation says "pending" until the model is measured afresh.

    python tools/reexport.py models/training/smooth3d/gated/s28.json \
        --lattice-notch --out /tmp/smoke3d_x4.onnx  # then copy NAME.{onnx,json,pt} over
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

import torch

from billow.io.atomic import atomic_path
from billow.train.export import export
from billow.train.trainer import CHECKPOINT_FORMAT


KEPT = ("status", "status_note", "reproduce", "evaluation")  # facts about the weights


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("card", help="model card (.json) with its torch weights beside it")
    ap.add_argument("--out", required=True,
                    help="NAME.onnx to write (with NAME.json, NAME.pt, NAME.core.onnx)")
    ap.add_argument("--projection", choices=("keep", "block"), default="keep",
                    help="'block': switch the block-mean projection on (default: as the card)")
    ap.add_argument("--lattice-notch", action="store_true",
                    help="switch the lattice notch on (gain form with the projection)")
    a = ap.parse_args(argv)
    card_path = Path(a.card)
    try:
        card = json.loads(card_path.read_text())
        training = card["training"]
        model = dict(card["architecture"]["model"])
        source_bytes = (card_path.parent / card["torch"]["weights"]).read_bytes()
        weights = torch.load(io.BytesIO(source_bytes), map_location="cpu", weights_only=True)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        print(f"reexport: {card_path}: not a 3D model card with its torch weights "
              f"beside it ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    if a.projection == "block":
        if model.get("generator") != "smooth":
            print(f"reexport: {card_path}: the projection is an option of the 'smooth' "
                  f"generator, not '{model.get('generator')}'", file=sys.stderr)
            return 2
        model["projection"] = "block"
    if a.lattice_notch:
        if model.get("output_form") != "gain" or model.get("projection") != "block":
            print(f"reexport: {card_path}: the lattice notch needs a gain-form model with the "
                  f"block projection", file=sys.stderr)
            return 2
        model["lattice_notch"] = True
    new_stage = model != card["architecture"]["model"]
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
    # a new stage changes what the weights produce: what was measured no longer applies
    kept = ("status", "reproduce") if new_stage else KEPT
    made.update({k: card[k] for k in kept if k in card})
    made["training"] = dict(training, augment=made["training"]["augment"],
                            config=made["training"]["config"])
    # the same tensors: keep the source's file byte for byte (cards cite it by its bytes)
    with atomic_path(Path(a.out).with_suffix(".pt")) as tmp:
        Path(tmp).write_bytes(source_bytes)
    out_card = Path(a.out).with_suffix(".json")
    with atomic_path(out_card) as tmp:  # never a half-written card beside the model
        Path(tmp).write_text(json.dumps(made, indent=2) + "\n")
    print(f"{a.out}: {made['architecture']['generator']} generator, inputs "
          f"{', '.join(made['inputs'])}, halo {made['halo']}, ONNX parity "
          f"{made['export_parity_rel_error']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
