"""`billow uv ...`: the temporalUV pipeline (dissertation ch. 5), one sub-subcommand each.

Each lives in `billow.commands.uv.<name>` with `add_parser(subparsers)` and `run(args)`.
As for the top-level commands, only the chosen one is imported, so `billow uv --help`
answers without torch; `UV_COMMANDS` holds the summaries shown for the others.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

UV_COMMANDS = {
    "synth": "render the synthetic benchmark: RGB, ground-truth UVs, raw DensePose-like IUVs",
    "extend": "extend raw UVs to the whole foreground silhouette (mass-spring relaxation)",
    "optimise": "optimise UVs against the frames (appearance + smoothness, Eq. 5.10)",
    "relocate": "constant texture and temporal relocation in texture space (Sec. 5.2.3)",
    "preprocess": "raw UVs to training targets: extend, optimise, relocate in one run",
    "eval": "PSNR/SSIM/tOF/T-diff of frames reconstructed from a texture and UVs",
    "train": "train the temporal UV generator (Sec. 5.2.4)",
    "infer": "raw UVs to coherent full-silhouette UVs with a trained UV model",
    "export": "export a trained UV generator to ONNX with its model card",
}


def _chosen(argv: list[str]) -> str | None:
    """The uv sub-subcommand named on the command line, if any."""
    words = [a for a in argv if not a.startswith("-")]
    if len(words) >= 2 and words[0] == "uv" and words[1] in UV_COMMANDS:
        return words[1]
    return None


def add_parser(sub) -> None:
    p = sub.add_parser("uv", help="temporally coherent UVs for re-texturing (temporalUV)",
                       description="temporalUV: turn per-frame, body-only UVs into "
                       "full-silhouette, temporally coherent UVs, and train a model that does "
                       "it for new sequences. Re-texture the result with `billow retexture`.")
    uv_sub = p.add_subparsers(dest="uv_command", metavar="STEP", required=True)
    chosen = _chosen(sys.argv[1:])
    for name, summary in UV_COMMANDS.items():
        module = f"billow.commands.uv.{name}"
        if chosen in (None, name) and importlib.util.find_spec(module) is not None:
            importlib.import_module(module).add_parser(uv_sub)
        else:
            uv_sub.add_parser(name, help=summary)
