"""Seam-free sparse N-D tiling with a halo (DESIGN.md, "Tiling without seams").

A block is cut into cores of `tile` cells. Each core is fed with `halo` cells of real
neighbours (zeros beyond the block, exactly as a whole-volume run sees them), so with a halo
at least the operator's receptive radius every output voxel is computed from the same inputs
as in a whole-volume run: tiled output equals untiled output, and seams cannot exist. Cores
whose input (halo included) holds no smoke are not run at all; their output stays background.

A network with a core-only pass (`billow.nets.valid`) is given the same window and returns
only its core (`run_tiles(..., cropped=True)`): the halo is read, not computed (issue 20).

The one tiler of the engine: the smoke networks (`run_tiles` over `plan_tiles`), the
interpolations beside them (`halo_window`: tricubic detail blend, pass-through grids) and the
UV model (`run_tiles` over `grid_tiles`, cores in multiples of its stride).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np


@dataclass(frozen=True)
class Tile:
    lo: tuple[int, ...]  # core start, in block cells
    hi: tuple[int, ...]  # core end (exclusive)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(h - l for l, h in zip(self.lo, self.hi))


def _split(n: int, tile: int) -> list[tuple[int, int]]:
    """[0, n) in ceil(n / tile) nearly equal parts: a 36-cell box with 32-cell tiles becomes
    18 + 18, not 32 + 4 (a thin tile costs its full halo for little work)."""
    count = -(-n // tile)
    if count == 0:  # an empty block has no tiles
        return []
    edges = [round(i * n / count) for i in range(count + 1)]
    return list(zip(edges[:-1], edges[1:]))


def plan_tiles(shape: tuple[int, ...], tile: int) -> list[Tile]:
    """Cores of at most `tile` cells covering `shape`, sized evenly."""
    ranges = [_split(n, tile) for n in shape]
    return [Tile(tuple(r[0] for r in combo), tuple(r[1] for r in combo))
            for combo in itertools.product(*ranges)]


def grid_tiles(shape: tuple[int, ...], tile: int | tuple[int, ...]) -> list[Tile]:
    """Cores of exactly `tile` cells (per axis, or the same on every axis) from index 0 (a
    network that needs sizes in multiples of its stride); `shape` must be a multiple of
    `tile` along every axis."""
    sizes = tile if isinstance(tile, tuple) else (tile,) * len(shape)
    ranges = [[(lo, lo + t) for lo in range(0, n, t)] for n, t in zip(shape, sizes)]
    return [Tile(tuple(r[0] for r in combo), tuple(r[1] for r in combo))
            for combo in itertools.product(*ranges)]


def halo_window(x: np.ndarray, t: Tile, halo: int, *, leading: int = 0) -> np.ndarray:
    """Core `t` of `x` with `halo` cells of neighbours on each side, zeros beyond `x` (a new
    array). The tile's axes start after `leading` axes (channels first); axes after the
    tile's (channels last) are taken whole."""
    src, pad = [], []
    for lo, hi, n in zip(t.lo, t.hi, x.shape[leading:]):
        a, b = lo - halo, hi + halo
        src.append(slice(max(a, 0), min(b, n)))
        pad.append((max(-a, 0), max(b - n, 0)))
    rest = x.ndim - leading - len(t.lo)
    return np.pad(x[(slice(None),) * leading + tuple(src)],
                  [(0, 0)] * leading + pad + [(0, 0)] * rest)


def core_of(y: np.ndarray, t: Tile, halo: int, scale: int = 1, *, leading: int = 0
            ) -> np.ndarray:
    """The core of tile `t` in an output computed `scale` x from its `halo_window`: `scale *
    halo` cells cut from each side of the tile's axes (a view)."""
    return y[(slice(None),) * leading + tuple(slice(scale * halo, scale * (halo + n))
                                              for n in t.shape)]


def occupied_tiles(tiles: list[Tile], occupied: np.ndarray, halo: int) -> list[Tile]:
    """Tiles whose core or halo touches an occupied cell."""
    keep = []
    for t in tiles:
        window = tuple(slice(max(l - halo, 0), h + halo) for l, h in zip(t.lo, t.hi))
        if occupied[window].any():
            keep.append(t)
    return keep


def run_tiles(inputs: np.ndarray, run: Callable, *, scale: int, halo: int, tiles: list[Tile],
              batch: int = 1, cropped: bool = False) -> Iterator[tuple[Tile, np.ndarray]]:
    """Yield (tile, output core `(C_out, *tile.shape * scale)`) for `inputs` `(C, *S)`; when
    `run` returns a tuple of outputs (the UV model's uv and logits), a tuple of cores.
    `cropped`: `run` returns only the core of each window (a core-only network,
    `billow.nets.valid`), not the output of the whole window.

    Tiles of equal shape are batched together (`batch` at a time)."""
    groups: dict[tuple[int, ...], list[Tile]] = defaultdict(list)
    for t in tiles:
        groups[t.shape].append(t)
    for shape, members in groups.items():
        for start in range(0, len(members), batch):
            chunk = members[start:start + batch]
            x = np.stack([halo_window(inputs, t, halo, leading=1) for t in chunk])
            y = run(x)
            cut = 0 if cropped else halo
            if isinstance(y, tuple):
                cores = [core_of(o, chunk[0], cut, scale, leading=2) for o in y]
                for k, t in enumerate(chunk):
                    yield t, tuple(c[k] for c in cores)
            else:
                for t, out in zip(chunk, core_of(y, chunk[0], cut, scale, leading=2)):
                    yield t, out
