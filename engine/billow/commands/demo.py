"""`billow demo`: the whole job on built-in defaults. Simulate a buoyant plume with the
built-in solver (48^3, 60 frames), upres it with the shipped model, write both VDB sequences
and a picture with the same renderer and material for every panel: the input, trilinear,
tricubic and billow side by side (an animated GIF too), and say where everything is."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import add_progress_argument


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="simulate, upres and show a smoke plume (a first run)",
                       description=__doc__)
    p.add_argument("--out", default="billow_demo", help="output folder (default: billow_demo)")
    p.add_argument("--res", type=int, default=48, help="simulation cells per axis (default: 48)")
    p.add_argument("--frames", type=int, default=60, help="frames (default: 60)")
    p.add_argument("--model", default=None, help="model (default: the shipped 3D x4)")
    p.add_argument("--velocity-scale", type=float, default=1.0,
                   help="detail control of the upres (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="inflow noise seed (default: 0)")
    add_progress_argument(p)
    p.set_defaults(run=run)


def _interpolated(low: np.ndarray, factor: int, method: str) -> np.ndarray:
    import torch

    from ..ops import upsample

    up = upsample(torch.from_numpy(np.ascontiguousarray(low, np.float32))[None, None], factor,
                  method)[0, 0]
    return up.clamp(min=0).numpy()


def _picture(low: np.ndarray, high: np.ndarray, factor: int) -> tuple[np.ndarray, list[int]]:
    """Renders side by side, uint8 RGB, and the left edge of each panel: the input (each
    voxel a block), trilinear, tricubic, billow. One renderer, one material: a column of
    density 1 across the domain has the same optical depth at every resolution, so the panels
    compare in brightness too."""
    from ..metrics.render import render

    a = render(low, axis="z")
    panels = [render(_interpolated(low, factor, m), axis="z") for m in ("trilinear",
                                                                         "tricubic")]
    b = render(high, axis="z")
    f = b.shape[0] // a.shape[0]
    a = np.kron(a, np.ones((f, f, 1)))[: b.shape[0], : b.shape[1]]
    gap = np.full((b.shape[0], max(2, b.shape[1] // 64), 3), 1.0)
    parts, edges, x = [], [], 0
    for p in [a, *panels, b]:
        if parts:
            parts.append(gap)
            x += gap.shape[1]
        edges.append(x)
        parts.append(p)
        x += p.shape[1]
    image = (np.concatenate(parts, axis=1) * 255).astype(np.uint8)
    zoom = max(1, -(-384 // image.shape[0]))  # at least 384 pixels high, to look at
    return np.kron(image, np.ones((zoom, zoom, 1), np.uint8)), [e * zoom for e in edges]


def _label(image: np.ndarray, edges: list[int], labels: list[str]) -> np.ndarray:
    from PIL import Image, ImageDraw

    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    for x, text in zip(edges, labels):
        draw.text((x + 8, 6), text, fill=(230, 230, 230))
    return np.asarray(pil)


def _domain_block(path: Path, lo, shape) -> np.ndarray:
    """The frame's density over a fixed index box, so every picture frames the same region."""
    from ..io import read_grid

    vol = read_grid(path, "density", bbox=(tuple(lo), tuple(l + n - 1 for l, n in
                                                         zip(lo, shape))))
    return vol.data


def run(args) -> int:
    from PIL import Image

    from ..commands.common import input_output_frames
    from ..infer import UpresConfig, load_card, make_backend, upres_sequence
    from ..infer.models import default_model
    from ..io import ReadOptions
    from ..sim.scenes import preset
    from ..sim.sequence import SimSettings, simulate_sequence

    out = Path(args.out)
    timings = {}
    card = load_card(args.model or default_model())  # fail early, before simulating
    start = time.perf_counter()
    sim_pattern = str(out / "sim" / "smoke.####.vdb")
    settings = SimSettings(preset("plume", 3, args.seed), args.res, 3, args.seed)
    simulate_sequence(settings, sim_pattern, args.frames, progress=args.progress)
    timings["simulate"] = time.perf_counter() - start

    start = time.perf_counter()
    up_pattern = str(out / "upres" / "smoke.####.vdb")
    jobs = input_output_frames(sim_pattern, up_pattern, f"1-{args.frames}")
    upres_sequence(jobs, make_backend(card), card,
                   UpresConfig(velocity_scale=args.velocity_scale), ReadOptions(),
                   progress_mode=args.progress, skip_existing=True)
    timings["upres"] = time.perf_counter() - start

    start = time.perf_counter()
    n, s = args.res, card.scale
    frames = []
    for _, low_path, high_path in jobs:
        low = _domain_block(low_path, (0, 0, 0), (n, n, n))
        high = _domain_block(high_path, (0, 0, 0), (s * n, s * n, s * n))
        image, edges = _picture(low, high, s)
        frames.append(_label(image, edges, [f"input {n}^3", f"trilinear x{s}",
                                            f"tricubic x{s}", f"billow x{s}, {card.name}"]))
    Image.fromarray(frames[-1]).save(out / "preview.png")
    if len(frames) > 1:
        images = [Image.fromarray(f) for f in frames]
        images[0].save(out / "preview.gif", save_all=True, append_images=images[1:],
                       duration=1000 // 12, loop=0)
    timings["pictures"] = time.perf_counter() - start

    print(f"billow demo: {args.frames} frames of a {n}^3 plume, upres'd x{s} with "
          f"{card.name}")
    print(f"  simulation  {out / 'sim'}/smoke.####.vdb   ({timings['simulate']:.1f} s)")
    print(f"  upres       {out / 'upres'}/smoke.####.vdb ({timings['upres']:.1f} s)")
    print(f"  picture     {out / 'preview.png'} (input, trilinear, tricubic, billow x{s})"
          + (f", animation {out / 'preview.gif'}" if len(frames) > 1 else "")
          + f" ({timings['pictures']:.1f} s)")
    return 0
