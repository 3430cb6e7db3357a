"""A tiny synthetic UV sequence with known ground truth, for the pre-processing tests: a figure
(body + flared skirt) drifting right by one pixel per frame, textured with smooth colour blobs
in atlas tile 2; the raw UVs cover the body only, jittered per frame, 8-bit quantised like
DensePose IUVs. Everything seeded."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from billow.uv import atlas, warp

TILE = 48  # texels per tile: one texel per pixel for this figure


def blobs(size, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.random((*size, 3)).astype(np.float32), (0, 0), 1.5)
    lo, hi = tex.min((0, 1)), tex.max((0, 1))
    return (tex - lo) / (hi - lo)


def make(frames: int = 4, size: int = 48, seed: int = 0, jitter: float = 1.5) -> dict:
    rng = np.random.default_rng(seed)
    tex_size = (atlas.ROWS * TILE, atlas.COLS * TILE)
    texture = blobs(tex_size, seed)
    ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    gt = np.zeros((frames, size, size, 2), np.float32)
    fg = np.zeros((frames, size, size), bool)
    body = np.zeros_like(fg)
    raw = np.zeros_like(gt)
    row, col = atlas.part_tile(2)
    for t in range(frames):
        xc = size // 2 + t
        b = (ys >= 6) & (ys < 26) & (np.abs(xs + 0.5 - xc) < 8)
        s = (ys >= 26) & (ys < size - 6) & (np.abs(xs + 0.5 - xc) < 8 + (ys - 26) * 0.5)
        body[t], fg[t] = b, b | s
        gx = col * TILE + 24 + (xs - xc)
        gy = row * TILE + 4 + (ys - 6)
        gt[t] = np.stack([(gx + 0.5) / tex_size[1], 1 - (gy + 0.5) / tex_size[0]], -1)
        jx, jy = rng.uniform(-jitter, jitter, 2)
        raw[t] = np.stack([(gx + jx + 0.5) / tex_size[1], 1 - (gy + jy + 0.5) / tex_size[0]], -1)
    gt[~fg] = 0
    # DensePose-like: body only, quantised through the 8-bit IUV encoding
    iuv = np.stack([atlas.encode_iuv_image(raw[t], body[t]) for t in range(frames)])
    raw_uv, raw_mask = zip(*[atlas.decode_iuv_image(i) for i in iuv])
    u, m = warp.to_torch_uv(gt, fg)
    with torch.no_grad():
        rgb = warp.to_numpy_image(warp.sample(warp.to_torch_image(texture), u, m))
    return {"rgb": rgb, "fg": fg, "gt": gt, "raw": np.stack(raw_uv), "raw_mask":
            np.stack(raw_mask), "texture": texture, "size": tex_size}


def write(folder, seq: dict) -> dict:
    """The sequence as files: rgb/frame.####.png (RGBA), raw/frame.####.png (8-bit IUV),
    gt/frame.####.png (16-bit UVs), texture.png; returns the patterns."""
    from billow.uv import io as uvio

    for t in range(len(seq["rgb"])):
        f = t + 1
        uvio.write_rgb(folder / "rgb" / f"frame.{f:04d}.png", seq["rgb"][t], seq["fg"][t])
        uvio.write_iuv(folder / "raw" / f"frame.{f:04d}.png", seq["raw"][t], seq["raw_mask"][t])
        uvio.write_uv(folder / "gt" / f"frame.{f:04d}.png", seq["gt"][t], seq["fg"][t])
    uvio.write_rgb(folder / "texture.png", seq["texture"])
    return {k: str(folder / k / "frame.####.png") for k in ("rgb", "raw", "gt")}
