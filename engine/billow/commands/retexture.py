"""`billow retexture`: put a new texture on an image sequence through its UVs, one bilinear
lookup per pixel, composited over the original frames (`billow.uv.retexture`)."""

from __future__ import annotations

import os

from .common import add_frames_argument, add_progress_argument


def add_parser(sub) -> None:
    p = sub.add_parser(
        "retexture", help="re-texture an image sequence through its UVs (one lookup per pixel)",
        description="Look up TEX at every pixel's UV (bilinear, clamp-to-edge, the atlas layout "
        "of billow.uv) and composite it by the UV mask over the background frames, or write "
        "straight-alpha RGBA without --background. UV frames: 16-bit PNG or EXR global UVs, or "
        "8-bit DensePose IUV images. Native C++/OpenMP kernel (AVX2 where the CPU has it), the "
        "CUDA kernel with --device cuda, or the torch reference with --backend torch.")
    p.add_argument("--uv", required=True, metavar="UV_PATTERN",
                   help="UV frames (frame pattern, e.g. uv/frame.####.png, or one file)")
    p.add_argument("--texture", required=True, metavar="TEX",
                   help="texture image in the atlas layout (PNG, RGB or RGBA; alpha blends)")
    p.add_argument("--background", metavar="RGB_PATTERN", default=None,
                   help="frames to composite over (the original footage), or one still image; "
                   "without it the output is RGBA with the UV mask as alpha")
    p.add_argument("--out", required=True, metavar="OUT_PATTERN",
                   help="output frames (e.g. out/frame.####.png); 8-bit")
    add_frames_argument(p)
    p.add_argument("--feather", type=float, default=0.0, metavar="PX",
                   help="soften the mask's edge over PX pixels inside it (default: 0, hard)")
    p.add_argument("--backend", choices=("native", "torch"), default="native",
                   help="lookup implementation (default: native)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="(default: cpu)")
    p.add_argument("--png-level", type=int, default=None, metavar="0-9",
                   help="PNG compression of the output, 0 (stored) to 9 (smallest, slowest); "
                   "by default OpenCV's fast setting (level 1 with run-length matching), which "
                   "measured faster than any explicit level, 0 included; .tif output is written "
                   "uncompressed, the fastest 8-bit format (default: OpenCV's)")
    p.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                   help="frames in flight at once (default: CPU cores, at most 4)")
    add_progress_argument(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..uv.retexture import RetextureOptions, retexture_sequence

    options = RetextureOptions(feather=args.feather, backend=args.backend, device=args.device,
                               png_level=args.png_level, jobs=args.jobs)
    retexture_sequence(args.uv, args.texture, args.out, background=args.background,
                       frames=args.frames, options=options, progress=args.progress)
    return 0
