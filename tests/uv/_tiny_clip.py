"""A tiny synthetic clip for the UV-model tests: a disc (the "body") with a ring around it
(the "garment") moving right by one pixel per frame, with UVs spanning two atlas parts, so
seams, silhouettes outside the raw mask and motion all occur. Deterministic."""

from __future__ import annotations

import numpy as np
import torch
from billow.uv import atlas, warp
from billow.uv.clips import UVClip, uv_tensor


def frame(t: int, h: int = 48, w: int = 48, speed: float = 1.0):
    """(raw uv, raw mask, target uv, target mask) of frame t."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w / 2 - 6 + speed * t, h / 2
    r = np.hypot(xx - cx, yy - cy)
    body, full = r < 0.22 * min(h, w), r < 0.34 * min(h, w)
    # part 1 (tile row 0, col 0) left of the centre, part 7 (row 0, col 1) right of it
    s = np.clip((xx - cx) / (0.7 * min(h, w)) + 0.5, 0.02, 0.98)
    tv = np.clip((yy - cy) / (0.7 * min(h, w)) + 0.5, 0.02, 0.98)
    part = np.where(xx < cx, 1, 7)
    uv, _ = atlas.iuv_to_uv(part, s, 1 - tv)
    return uv, body, uv, full


def clip(frames: int = 6, h: int = 48, w: int = 48, seed: int = 0) -> UVClip:
    raws, tgts = [], []
    for t in range(frames):
        ur, mr, ut, mt = frame(t, h, w)
        raws.append((ur, mr))
        tgts.append((ut, mt))
    uvr = np.stack([a for a, _ in raws])
    mr = np.stack([b for _, b in raws])
    uvt = np.stack([a for a, _ in tgts])
    mt = np.stack([b for _, b in tgts])
    tex = torch.rand(1, 3, 6 * 8, 4 * 8, generator=torch.Generator().manual_seed(seed))
    rgb = warp.sample(tex, torch.from_numpy(uvt), torch.from_numpy(mt))
    return UVClip(uv_tensor(uvr, mr), uv_tensor(uvt, mt), rgb, tex, list(range(frames)))
