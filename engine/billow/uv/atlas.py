"""The one texture layout of billow.uv: DensePose parts packed into a single [0,1]^2 texture.

Everything downstream of reading (warps, extension, optimisation, relocation, networks,
re-texturing) sees only *global* UVs: `uv[..., 0] = u`, `uv[..., 1] = v`, both in [0, 1], plus a
boolean foreground mask. DensePose IUV images are converted here, once, so there is exactly one
layout in the codebase (the public temporalUV code had two samplers with two layouts).

Conventions (shared with Blender and OpenGL, so Blender's UV pass needs no conversion):

- `u` grows to the right, `v` grows *upwards*: texel row 0 is the top of the image, v = 1.
- A texture of `H x W` texels has texel centres at `u = (x + 0.5) / W`, `v = 1 - (y + 0.5) / H`.

DensePose layout (the 24-part atlas of DensePose's `texture_from_SURREAL.png`): a grid of
`ROWS x COLS = 6 x 4` square tiles; part `p` (1..24) sits in column `(p - 1) // 6`, row
`(p - 1) % 6`. Inside a tile, DensePose's U runs left to right and V runs *top to bottom* (the
DensePose notebook samples `tile[(1 - V) * 199, U * 199]`, so V = 1 is the top row). An atlas
texture is therefore `6 T x 4 T` texels for tile size `T` (200 in DensePose).
"""

from __future__ import annotations

import numpy as np

ROWS, COLS = 6, 4
PARTS = ROWS * COLS  # 24 body parts; index 0 is background
DEFAULT_TILE = 200


def part_tile(part: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the atlas tile of DensePose part `part` (1..24)."""
    k = np.asarray(part) - 1
    return k % ROWS, k // ROWS


def iuv_to_uv(i: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DensePose (I, U, V), U and V in [0, 1], to global (uv[..., 2], mask).

    Background (I = 0) gets uv = 0 and mask False.
    """
    i = np.asarray(i).astype(np.int64)
    mask = (i >= 1) & (i <= PARTS)
    row, col = part_tile(np.where(mask, i, 1))
    # U, V = 0 or 1 sit on a border shared with the next tile and, after float32 rounding, may
    # decode as that tile's part: keep a tile's coordinates inside it (1e-4 << one 8-bit step).
    eps = 1e-4
    gu = (col + np.clip(u, eps, 1.0 - eps)) / COLS
    # V = 1 is the tile's top row; global v = 1 is the atlas's top row (row 0).
    gv = 1.0 - (row + 1.0 - np.clip(v, eps, 1.0 - eps)) / ROWS
    uv = np.stack([gu, gv], axis=-1).astype(np.float32)
    uv[~mask] = 0.0
    return uv, mask


def uv_to_iuv(uv: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of `iuv_to_uv`: global uv to (I, U, V) with U, V in [0, 1]."""
    gu = np.clip(uv[..., 0], 0.0, 1.0 - 1e-7) * COLS
    gy = np.clip(1.0 - uv[..., 1], 0.0, 1.0 - 1e-7) * ROWS  # rows counted from the top
    col, row = np.floor(gu), np.floor(gy)
    i = (col * ROWS + row + 1).astype(np.int64)
    u = gu - col
    v = 1.0 - (gy - row)
    i[~mask] = 0
    return i, np.where(mask, u, 0.0), np.where(mask, v, 0.0)


def decode_iuv_image(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An 8-bit DensePose IUV image (H, W, 3) with channels (I, U, V) to (uv, mask)."""
    img = np.asarray(img)
    return iuv_to_uv(img[..., 0], img[..., 1] / 255.0, img[..., 2] / 255.0)


def encode_iuv_image(uv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Global (uv, mask) to an 8-bit DensePose IUV image (quantises U and V to 1/255)."""
    i, u, v = uv_to_iuv(uv, mask)
    out = np.stack([i, np.rint(u * 255), np.rint(v * 255)], axis=-1)
    return out.astype(np.uint8)


def texel_xy(uv: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Continuous texel coordinates (x, y) of `uv` in a texture of `size = (H, W)` texels.

    Integer values are texel centres: x = u * W - 0.5, y = (1 - v) * H - 0.5.
    """
    h, w = size
    return uv[..., 0] * w - 0.5, (1.0 - uv[..., 1]) * h - 0.5


def tile_index(size: tuple[int, int]) -> np.ndarray:
    """(H, W) array of the DensePose part (1..24) that owns each texel of an atlas texture.

    Used for per-tile hole filling: a hole is only filled from texels of the same part, so
    colours never bleed across the seams between body parts.
    """
    h, w = size
    y = (np.arange(h) + 0.5) / h * ROWS
    x = (np.arange(w) + 0.5) / w * COLS
    row = np.floor(y).astype(np.int64)[:, None]
    col = np.floor(x).astype(np.int64)[None, :]
    return col * ROWS + row + 1


def part_bounds(part: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(lo [.., 2], hi [.., 2]) uv bounds of each part's tile, shrunk by `margin`."""
    row, col = part_tile(np.maximum(part, 1))
    lo = np.stack([col / COLS, 1.0 - (row + 1.0) / ROWS], -1) + margin
    hi = np.stack([(col + 1.0) / COLS, 1.0 - row / ROWS], -1) - margin
    return lo, hi
