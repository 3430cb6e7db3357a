"""`billow uv eval`: how well a texture and UVs reconstruct the frames (PSNR, SSIM, tOF,
T-diff; App. C.2)."""

from __future__ import annotations

import json

from . import UV_COMMANDS
from .common import add_inputs, add_runtime, load_inputs


def add_parser(uv_sub) -> None:
    p = uv_sub.add_parser(
        "eval", help=UV_COMMANDS["eval"],
        description="Reconstruct every frame from a texture and UVs, I' = W(T, omega_I(P)), "
        "and compare with the real frames: PSNR over the figure (foreground and UV mask) and "
        "over the UV mask only, SSIM, tOF and T-diff against the real frames' motion, and "
        "T-diff with the motion of the UVs themselves (App. C.2).")
    add_inputs(p)
    p.add_argument("--texture", metavar="FILE", required=True,
                   help="the texture (PNG, atlas layout), e.g. T_o from `billow uv relocate`")
    p.add_argument("--json", metavar="FILE", default=None,
                   help="write per-frame and mean metrics as JSON")
    p.add_argument("--recon", metavar="PATTERN", default=None,
                   help="also write the reconstructed frames (8-bit PNG with alpha)")
    add_runtime(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...io.atomic import atomic_path
    from ...uv import io as uvio
    from ...uv.evaluate import evaluate, reconstruct
    from ...uv.inputs import output_paths, set_threads

    inputs = load_inputs(args)
    recon_paths = output_paths(args.recon, inputs.frames) if args.recon else None
    texture, _ = uvio.read_rgb(args.texture)
    set_threads(args.threads)
    size = texture.shape[:2]
    recon = reconstruct(texture, inputs.uv, inputs.mask)
    result = evaluate(recon, inputs.rgb, inputs.fg, inputs.uv, inputs.mask, size)
    result["frames"]["frame"] = inputs.frames
    if recon_paths:
        for path, img, m in zip(recon_paths, recon, inputs.mask):
            uvio.write_rgb(path, img, m)
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({"uv": args.uv, "rgb": args.rgb, "texture": args.texture,
                                       **result}, indent=1))
    m = result["mean"]
    print(f"{args.uv}: PSNR {m['psnr']:.2f} dB (UV mask {m['psnr_uv']:.2f}), SSIM "
          f"{m['ssim']:.4f}, tOF {m['tof']:.4f}, T-diff {m['tdiff']:.4f} "
          f"(UV motion {m['tdiff_uv']:.4f}) over {len(inputs.frames)} frame(s)")
    return 0
