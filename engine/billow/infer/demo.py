"""The whole job on built-in defaults (`billow demo`): simulate a buoyant plume with the built-in
solver, upres it with the shipped model, and draw the input, trilinear, tricubic and billow
side by side with one renderer and one material (a PNG of the last frame, a GIF of all)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


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


def run_demo(out, *, res: int = 48, frames: int = 60, model=None,
             velocity_scale: float = 1.0, seed: int = 0, progress: str = "auto") -> dict:
    """Simulate `frames` frames of a `res`^3 plume into OUT/sim, upres them into OUT/upres and
    draw OUT/preview.png (and OUT/preview.gif for more than one frame). Returns the card's name
    and scale, the paths written and the seconds of each step."""
    from PIL import Image

    from . import UpresConfig, load_card, make_backend, upres_sequence
    from .models import default_model
    from ..io import ReadOptions
    from ..io.jobs import input_output_frames
    from ..sim.scenes import preset
    from ..sim.sequence import SimSettings, simulate_sequence

    out = Path(out)
    timings = {}
    card = load_card(model or default_model())  # fail early, before simulating
    start = time.perf_counter()
    sim_pattern = str(out / "sim" / "smoke.####.vdb")
    settings = SimSettings(preset("plume", 3, seed), res, 3, seed)
    simulate_sequence(settings, sim_pattern, frames, progress=progress)
    timings["simulate"] = time.perf_counter() - start

    start = time.perf_counter()
    up_pattern = str(out / "upres" / "smoke.####.vdb")
    jobs = input_output_frames(sim_pattern, up_pattern, f"1-{frames}")
    upres_sequence(jobs, make_backend(card), card,
                   UpresConfig(velocity_scale=velocity_scale), ReadOptions(),
                   progress_mode=progress, skip_existing=True)
    timings["upres"] = time.perf_counter() - start

    start = time.perf_counter()
    n, s = res, card.scale
    pictures = []
    for _, low_path, high_path in jobs:
        low = _domain_block(low_path, (0, 0, 0), (n, n, n))
        high = _domain_block(high_path, (0, 0, 0), (s * n, s * n, s * n))
        image, edges = _picture(low, high, s)
        pictures.append(_label(image, edges, [f"input {n}^3", f"trilinear x{s}",
                                              f"tricubic x{s}", f"billow x{s}, {card.name}"]))
    Image.fromarray(pictures[-1]).save(out / "preview.png")
    gif = None
    if len(pictures) > 1:
        images = [Image.fromarray(f) for f in pictures]
        gif = out / "preview.gif"
        images[0].save(gif, save_all=True, append_images=images[1:],
                       duration=1000 // 12, loop=0)
    timings["pictures"] = time.perf_counter() - start
    return {"card": card.name, "scale": s, "sim": out / "sim", "upres": out / "upres",
            "png": out / "preview.png", "gif": gif, "seconds": timings}
