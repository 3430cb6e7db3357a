"""`billow uv synth OUT_DIR`: the synthetic temporalUV benchmark, rendered with Blender."""

from __future__ import annotations

import json
from dataclasses import asdict

from ...config import add_arguments, from_args
from ...uv.synth.render import SynthConfig
from ..common import add_progress_argument
from . import UV_COMMANDS


def add_parser(uv_sub) -> None:
    p = uv_sub.add_parser(
        "synth", help=UV_COMMANDS["synth"],
        description="Render a figure in a loose, swaying skirt with Blender (Cycles, CPU; the "
        "bpy wheel, in a subprocess) and write OUT_DIR/rgb (RGBA frames), uv_gt (ground-truth "
        "global UVs, 16-bit), iuv_raw (DensePose-like IUVs: body only, jittered per frame and "
        "part, 8-bit), iuv_body (the same with the legs under the skirt), garment (skirt "
        "masks), texture.png and meta.json. The same seed renders the same files.")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the benchmark into")
    add_arguments(p, SynthConfig, title="benchmark")
    p.add_argument("--dry-run", action="store_true",
                   help="print the resolved settings as JSON and render nothing")
    add_progress_argument(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...uv.synth.render import synthesise

    cfg = from_args(SynthConfig, args)
    if args.dry_run:
        cfg.check()
        print(json.dumps(asdict(cfg), indent=2))
        return 0
    synthesise(args.out_dir, cfg, args.progress)
    return 0
