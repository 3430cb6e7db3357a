"""Seam-free sparse tiling (DESIGN.md, "Tiling without seams").

The block of low-res inputs is cut into cores of `tile` cells. Each core is fed with `halo`
cells of real neighbours (zeros beyond the block, exactly as a whole-volume run sees them),
so with a halo at least the network's receptive radius every output voxel is computed from
the same inputs as in a whole-volume run: tiled output equals untiled output to float
tolerance, and seams cannot exist. Cores whose input (halo included) holds no smoke are not
run at all; their output stays background.
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


def occupied_tiles(tiles: list[Tile], occupied: np.ndarray, halo: int) -> list[Tile]:
    """Tiles whose core or halo touches an occupied cell."""
    keep = []
    for t in tiles:
        window = tuple(slice(max(l - halo, 0), h + halo) for l, h in zip(t.lo, t.hi))
        if occupied[window].any():
            keep.append(t)
    return keep


def run_tiles(inputs: np.ndarray, run: Callable[[np.ndarray], np.ndarray], *, scale: int,
              halo: int, tiles: list[Tile], batch: int = 1
              ) -> Iterator[tuple[Tile, np.ndarray]]:
    """Yield (tile, output core `(C_out, *tile.shape * scale)`) for `inputs` `(C, *S)`.

    Tiles of equal shape are batched together (`batch` at a time)."""
    pad = [(0, 0)] + [(halo, halo)] * (inputs.ndim - 1)
    padded = np.pad(inputs, pad)  # padded index = block index + halo
    groups: dict[tuple[int, ...], list[Tile]] = defaultdict(list)
    for t in tiles:
        groups[t.shape].append(t)
    for shape, members in groups.items():
        for start in range(0, len(members), batch):
            chunk = members[start:start + batch]
            x = np.stack([padded[(slice(None),) + tuple(slice(l, h + 2 * halo)
                                                        for l, h in zip(t.lo, t.hi))]
                          for t in chunk])
            y = run(x)
            core = (slice(None), slice(None)) + tuple(slice(scale * halo, scale * (halo + n))
                                                      for n in shape)
            for t, out in zip(chunk, y[core]):
                yield t, out
