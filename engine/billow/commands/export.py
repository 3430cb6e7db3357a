"""`billow export`: a trained run -> ONNX model + model card JSON beside it."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a trained generator to ONNX with its model card",
                       description="Write models/NAME.onnx (input (N, C, X, Y[, Z]) float32, "
                       "dynamic spatial axes; output (N, 1, 4X, 4Y[, 4Z])) and NAME.json, the "
                       "model card, and NAME.pt (weights for the torch backend). The export is checked against ONNX Runtime (<= 1e-4 "
                       "relative).")
    p.add_argument("run_dir", metavar="RUN", help="training run folder (or its checkpoint.pt)")
    p.add_argument("--out", required=True, metavar="NAME.onnx", help="model file to write")
    p.add_argument("--eval", dest="evaluation", metavar="REPORT.json", default=None,
                   help="evaluation figures from `billow eval` to put in the card (otherwise "
                   "'pending')")
    p.add_argument("--raw-weights", action="store_true",
                   help="export the generator's last weights, not the run's weight average "
                   "(runs trained with --ema; others only have the former)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..train.export import export

    card = export(args.run_dir, args.out, args.evaluation,
                  "raw" if args.raw_weights else "ema")
    print(f"{args.out}: {card['architecture']['generator']} generator, "
          f"{card['architecture']['parameters']} parameters, halo {card['halo']} cells, "
          f"{card['training']['iterations']} iterations ({card['training']['weights']}); "
          f"ONNX parity "
          f"{card['export_parity_rel_error']:.1e}; card {args.out[:-5]}.json, torch weights "
          f"{args.out[:-5]}.pt")
    return 0
