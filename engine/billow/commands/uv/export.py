"""`billow uv export`: a trained UV generator -> ONNX model + model card."""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import InputError

SUMMARY = "export a trained UV generator to ONNX with its model card"


def add_parser(uv_sub) -> None:
    p = uv_sub.add_parser("export", help=SUMMARY, description=(
        "Write NAME.onnx (input 'raw' (N, 3, H, W) = u, v, mask; outputs 'uv' (N, 2, H, W) "
        "and 'logits' (N, K, H, W); dynamic H, W in multiples of the stride) and NAME.json, "
        "the model card (format billow-model/1, kind 'uv'). The export is checked against "
        "ONNX Runtime (<= 1e-4 relative)."))
    p.add_argument("run_dir", metavar="RUN", help="training run folder (or its checkpoint.pt)")
    p.add_argument("--out", required=True, metavar="NAME.onnx", help="model file to write")
    p.add_argument("--eval", dest="evaluation", metavar="REPORT.json", default=None,
                   help="evaluation figures to put in the card (otherwise 'pending')")
    p.add_argument("--card-extra", metavar="FIELDS.json", default=None,
                   help="JSON object of further card fields (status, status_note, reproduce)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ...uv.model import export

    extra = None
    if args.card_extra:
        try:
            extra = json.loads(Path(args.card_extra).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"{args.card_extra}: unreadable card fields ({e})") from e
        if not isinstance(extra, dict):
            raise InputError(f"{args.card_extra}: must hold one JSON object")
    card = export(args.run_dir, args.out, args.evaluation, extra)
    print(f"{args.out}: UV generator ({card['training']['variant']}), "
          f"{card['architecture']['parameters']} parameters, halo {card['halo']} px, "
          f"{card['training']['generator_steps']} generator steps; ONNX parity "
          f"{card['export_parity_rel_error']:.1e}; card {str(args.out)[:-5]}.json")
    return 0
