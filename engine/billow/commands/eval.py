"""`billow eval`: measure an upres against its input, a high-res reference and the baselines a
user would otherwise pick, and write an HTML report (metrics table, spectra, temporal residual
over frames, slices, projections, renders and Fig. 3.2 time derivatives)."""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
import time

from ..baselines import METHODS, WaveletConfig
from ..config import add_arguments, from_args
from ..errors import InputError
from ..io import ReadOptions
from ..evaluation.evaluate import EvalConfig, evaluate
from ..evaluation.report import markdown_table, write_report
from ..evaluation.sequences import eval_regions, layout, open_sequence
from ..progress import Progress
from .common import add_frames_argument, add_progress_argument


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval", help="measure an upres (and baselines) against input and reference; HTML report",
        description="Compare an upres VDB sequence with its low-res input and, when given, the "
        "high-res reference: L1/PSNR, input fidelity and mass, energy spectra, advected-frame "
        "residual and flicker, image metrics on renders, pictures. Baselines (nearest, "
        "trilinear, tricubic, wavelet) are computed from the input on the fly. Metrics that "
        "need a reference are reported as n/a without one.")
    p.add_argument("--output", metavar="PATTERN", default=None,
                   help="the upres to evaluate (.vdb file or frame pattern); optional when "
                   "only baselines are compared")
    p.add_argument("--input", metavar="PATTERN", required=True,
                   help="the low-res input the upres was made from")
    p.add_argument("--reference", metavar="PATTERN", default=None,
                   help="high-res reference (e.g. the simulation the input was downsampled from)")
    p.add_argument("--baselines", default="", metavar="LIST",
                   help=f"comma-separated baselines to compute: {','.join(METHODS)}")
    p.add_argument("--report", metavar="DIR", required=True,
                   help="folder for index.html, metrics.json and metrics.md")
    p.add_argument("--name", default="output", help="name of --output in the report")
    p.add_argument("--scale", type=int, default=None,
                   help="upres factor (default: from the voxel sizes; required with baselines "
                   "only)")
    add_frames_argument(p)
    p.add_argument("--dry-run", action="store_true",
                   help="check the inputs, print the resolved configuration and exit")
    add_arguments(p, EvalConfig, title="evaluation")
    add_arguments(p, WaveletConfig, title="wavelet baseline")
    add_arguments(p, ReadOptions, title="input interpretation (all sequences)")
    add_progress_argument(p)
    p.set_defaults(run=run)


def parse_baselines(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in METHODS]
    if bad:
        raise InputError(f"--baselines: unknown {', '.join(bad)} (choose {', '.join(METHODS)})")
    return list(dict.fromkeys(names))


def run(args) -> int:
    start = time.perf_counter()
    baselines = parse_baselines(args.baselines)
    config = from_args(EvalConfig, args)
    wavelet = from_args(WaveletConfig, args)
    # velocity is optional: without it the residual metrics are n/a (wavelet needs it)
    options = from_args(ReadOptions, args, require_velocity="wavelet" in baselines)
    if args.output is None and args.reference is None and not baselines:
        raise InputError("nothing to evaluate: give --output, --reference or --baselines")
    if config.residual_velocity == "reference" and args.reference is None:
        raise InputError("--residual-velocity reference needs --reference")
    if args.name == "reference" or args.name in METHODS:
        raise InputError(f"--name '{args.name}' clashes with a baseline or the reference")
    inputs = open_sequence("input", args.input, args.frames, options)
    output = open_sequence(args.name, args.output, args.frames, options) if args.output else None
    reference = (open_sequence("reference", args.reference, args.frames, options)
                 if args.reference else None)
    others = [s for s in (output, reference) if s is not None]
    lay = layout(inputs, others, args.scale)
    # a sparse sequence (far-apart puffs): region by region, memory for the active voxels
    windows = eval_regions(inputs, others, lay, options)
    resolved = {"command": "billow " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
                "eval": dataclasses.asdict(config), "baselines": baselines,
                "wavelet": dataclasses.asdict(wavelet) if "wavelet" in baselines else None,
                "read": dataclasses.asdict(options), "factor": lay.factor,
                "low_res_block": {"lo": lay.lr_lo.tolist(), "shape": list(lay.lr_shape)},
                "regions": None if windows is None else len(windows),
                "frames": len(lay.frames)}
    if args.dry_run:
        print(json.dumps(resolved, indent=1, default=str))
        return 0
    with Progress(len(lay.frames), "eval", args.progress) as progress:
        ev = evaluate(inputs, output, reference, baselines, lay, config, options,
                      {"wavelet": dataclasses.asdict(wavelet)}, progress, windows=windows)
        title = (f"billow eval: {args.name if output else 'baselines'} vs "
                 f"{'reference' if reference else 'input'}")
        path = write_report(ev, args.report, title, resolved)
        text = (f"{markdown_table(ev)}report: {path} (evaluation {ev.seconds:.1f} s, "
                f"whole command {time.perf_counter() - start:.1f} s)")
        if args.progress == "json":
            progress.message(text)
    if args.progress != "json":
        print(text)
    return 0
