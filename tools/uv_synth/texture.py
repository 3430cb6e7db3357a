"""The benchmark's texture: a patterned atlas (one pattern and palette per DensePose tile).

Distinct colours and mid-sized, soft-edged shapes (flowers on the skirt, stripes on the torso,
checks on the arms, diagonal stripes on the legs, dots elsewhere) give optical flow something to
track and PSNR something to measure; the edges are a couple of texels wide so that the
antialiased render and a point lookup of the same texture agree.
"""

from __future__ import annotations

import numpy as np

from billow.uv import atlas
from .figure import GARMENT_PARTS

TORSO, ARMS, LEGS, HEAD = (1, 2), (15, 16, 17, 18, 19, 20, 21, 22), (11, 12, 13, 14), (23, 24)


def _smooth_step(d: np.ndarray, width: float) -> np.ndarray:
    """0 -> 1 across a signed distance `d` (texels) over `width` texels."""
    x = np.clip(0.5 + d / width, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _mix(base: np.ndarray, colour, weight: np.ndarray) -> np.ndarray:
    return base * (1.0 - weight[..., None]) + np.asarray(colour) * weight[..., None]


def _flowers(t: int, rng, palette, edge: float) -> np.ndarray:
    """Five-petalled flowers with a centre dot on a plain ground, on a jittered grid."""
    y, x = np.mgrid[0:t, 0:t] + 0.5
    img = np.broadcast_to(np.asarray(palette[0], dtype=np.float64), (t, t, 3)).copy()
    cell = t / 4.0
    for gy in range(5):
        for gx in range(5):
            cy = (gy - 0.5 + rng.uniform(0.25, 0.75)) * cell
            cx = (gx - 0.5 + 0.5 * (gy % 2) + rng.uniform(0.25, 0.75)) * cell
            size = cell * rng.uniform(0.28, 0.4)
            r, a = np.hypot(x - cx, y - cy), np.arctan2(y - cy, x - cx) + rng.uniform(0, 6.3)
            petals = size * (0.62 + 0.38 * np.cos(5 * a))
            img = _mix(img, palette[1 + (gx + gy) % 2], _smooth_step(petals - r, edge))
            img = _mix(img, palette[3], _smooth_step(0.28 * size - r, edge))
    return img


def _stripes(t: int, palette, period: float, angle: float, edge: float) -> np.ndarray:
    y, x = np.mgrid[0:t, 0:t] + 0.5
    d = x * np.cos(angle) + y * np.sin(angle)
    k = np.floor(d / period).astype(np.int64)
    frac = d - k * period
    cols = np.asarray(palette, dtype=np.float64)
    n = len(cols)
    # half of the blend on each side of a band edge, so colour is continuous across it
    w_next, w_prev = _smooth_step(frac - period, edge), _smooth_step(-frac, edge)
    return (cols[k % n] * (1.0 - w_next - w_prev)[..., None] + cols[(k + 1) % n]
            * w_next[..., None] + cols[(k - 1) % n] * w_prev[..., None])


def _checks(t: int, palette, period: float, edge: float) -> np.ndarray:
    y, x = np.mgrid[0:t, 0:t] + 0.5
    sx, sy = np.sin(np.pi * x / period), np.sin(np.pi * y / period)
    # the sign of sx*sy is the checker; its magnitude gives soft edges
    w = _smooth_step(sx * sy * period / np.pi, edge)
    return _mix(np.broadcast_to(np.asarray(palette[0], float), (t, t, 3)), palette[1], w)


def _dots(t: int, rng, palette, n: int, edge: float) -> np.ndarray:
    y, x = np.mgrid[0:t, 0:t] + 0.5
    img = np.broadcast_to(np.asarray(palette[0], dtype=np.float64), (t, t, 3)).copy()
    for k in range(n):
        cx, cy = rng.uniform(0, t, 2)
        r = np.hypot(x - cx, y - cy)
        img = _mix(img, palette[1 + k % (len(palette) - 1)],
                   _smooth_step(t * rng.uniform(0.05, 0.09) - r, edge))
    return img


def _palette(rng, n: int) -> list[np.ndarray]:
    """`n` well-separated colours: hues spread around the wheel from a random start."""
    h0 = rng.uniform(0, 1)
    out = []
    for k in range(n):
        h = (h0 + k / n + rng.uniform(-0.04, 0.04)) % 1.0
        value = 0.95 if k % 2 else 0.55
        sat = rng.uniform(0.55, 0.85)
        rgb = np.clip(np.abs((h * 6.0 + np.array([0.0, 4.0, 2.0])) % 6.0 - 3.0) - 1.0, 0.0, 1.0)
        out.append(value * (1.0 - sat + sat * rgb))
    return out


def make_texture(tile: int = 128, seed: int = 0, edge: float = 5.0) -> np.ndarray:
    """An atlas texture (6 tile x 4 tile texels, RGB float in [0, 1]) in `atlas`'s layout.

    `edge` is the width of the shapes' soft edges in texels. With 128-texel tiles a texel is
    about half a pixel at 256 x 256, and 5-texel edges keep the antialiased render within
    ~31 dB of a point lookup (2-texel edges: 29 dB with a 1-pixel filter, 26 dB with 1.5).
    """
    rng = np.random.default_rng(seed)
    out = np.zeros((atlas.ROWS * tile, atlas.COLS * tile, 3))
    garment = _palette(rng, 4)
    for part in range(1, atlas.PARTS + 1):
        pal = _palette(rng, 4)
        if part in GARMENT_PARTS:
            img = _flowers(tile, rng, garment, edge)
        elif part in TORSO:
            img = _stripes(tile, pal[:3], tile / 7.0, np.pi / 2, edge)
        elif part in ARMS:
            img = _checks(tile, pal[:2], tile / 6.0, edge)
        elif part in LEGS:
            img = _stripes(tile, pal[:2], tile / 8.0, np.pi / 4, edge)
        elif part in HEAD:
            img = _dots(tile, rng, pal, 9, edge)
        else:
            img = _dots(tile, rng, pal, 5, edge)
        row, col = atlas.part_tile(part)
        out[row * tile:(row + 1) * tile, col * tile:(col + 1) * tile] = img
    return np.clip(out, 0.0, 1.0).astype(np.float32)
