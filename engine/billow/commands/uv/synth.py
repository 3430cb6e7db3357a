"""`billow uv synth OUT_DIR`: the synthetic temporalUV benchmark, rendered with Blender.

The renderer is a development tool kept outside the shipped package (`tools/uv_synth/` in a
checkout); an installed billow without it answers with one line saying so."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ...config import add_arguments, from_args
from ...errors import InputError
from ..common import add_progress_argument
from . import UV_COMMANDS

TOOLS = Path(__file__).resolve().parents[4] / "tools"  # the checkout's, when there is one


def _tool():
    """tools/uv_synth/render.py of the checkout this billow runs from, or None."""
    if not (TOOLS / "uv_synth" / "render.py").is_file():
        return None
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    from uv_synth import render

    return render


def add_parser(uv_sub) -> None:
    p = uv_sub.add_parser(
        "synth", help=UV_COMMANDS["synth"],
        description="Render a figure in a loose, swaying skirt with Blender (Cycles, CPU; the "
        "bpy wheel, in a subprocess) and write OUT_DIR/rgb (RGBA frames), uv_gt (ground-truth "
        "global UVs, 16-bit), iuv_raw (DensePose-like IUVs: body only, jittered per frame and "
        "part, 8-bit), iuv_body (the same with the legs under the skirt), garment (skirt "
        "masks), texture.png and meta.json. The same seed renders the same files. A "
        "development tool: runs from a billow checkout (tools/uv_synth/).")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the benchmark into")
    render = _tool()
    if render is None:  # an installed billow: take the flags, refuse in run()
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    else:
        add_arguments(p, render.SynthConfig, title="benchmark")
        p.add_argument("--dry-run", action="store_true",
                       help="print the resolved settings as JSON and render nothing")
        add_progress_argument(p)
    p.set_defaults(run=run)


def run(args) -> int:
    render = _tool()
    if render is None:
        raise InputError("`billow uv synth` is a development tool: run it from a billow "
                         f"checkout (it needs tools/uv_synth/, not found at {TOOLS})")
    cfg = from_args(render.SynthConfig, args)
    if args.dry_run:
        cfg.check()
        print(json.dumps(asdict(cfg), indent=2))
        return 0
    render.synthesise(args.out_dir, cfg, args.progress)
    return 0
