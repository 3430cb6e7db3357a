"""`billow demo`: the whole job on built-in defaults. Simulate a small buoyant plume with the
built-in solver, upres it with the shipped model, write both VDB sequences and a picture
(input vs output side by side; an animated GIF too), and say where everything is."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import add_progress_argument


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="simulate, upres and show a smoke plume (a first run)",
                       description=__doc__)
    p.add_argument("--out", default="billow_demo", help="output folder (default: billow_demo)")
    p.add_argument("--res", type=int, default=40, help="simulation cells per axis (default: 40)")
    p.add_argument("--frames", type=int, default=24, help="frames (default: 24)")
    p.add_argument("--model", default=None, help="model (default: the shipped 3D x4)")
    p.add_argument("--velocity-scale", type=float, default=1.0,
                   help="detail control of the upres (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="inflow noise seed (default: 0)")
    add_progress_argument(p)
    p.set_defaults(run=run)


def _picture(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Side-by-side renders (same brightness scale at both resolutions), uint8 RGB."""
    from ..metrics.render import render

    a, b = render(low, axis="z"), render(high, axis="z")
    # nearest-upsample the low-res render to the high-res size so both halves match
    f = b.shape[0] // a.shape[0]
    a = np.kron(a, np.ones((f, f, 1)))[: b.shape[0], : b.shape[1]]
    gap = np.full((b.shape[0], max(2, b.shape[1] // 64), 3), 1.0)
    image = (np.concatenate([a, gap, b], axis=1) * 255).astype(np.uint8)
    zoom = max(1, -(-384 // image.shape[0]))  # at least 384 pixels high, to look at
    return np.kron(image, np.ones((zoom, zoom, 1), np.uint8))


def _label(image: np.ndarray, left: str, right: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    draw.text((8, 6), left, fill=(230, 230, 230))
    draw.text((image.shape[1] // 2 + 8, 6), right, fill=(230, 230, 230))
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
        frames.append(_label(_picture(low, high), f"input {n}^3",
                             f"billow x{s} ({s * n}^3), {card.name}"))
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
    print(f"  picture     {out / 'preview.png'} (left: input, right: x{s})"
          + (f", animation {out / 'preview.gif'}" if len(frames) > 1 else "")
          + f" ({timings['pictures']:.1f} s)")
    return 0
