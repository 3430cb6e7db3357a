"""Occupied regions of a sparse cache, so memory follows the active voxels, not the bounding box.

Two puffs of smoke 1e5 voxels apart have a bounding box of 1e15 voxels; read densely it would
never fit. `occupied_regions` walks the grids' active values with OpenVDB's own iterator
(leaf voxels and tiles, never the empty space), groups them into connected clusters of
`cell`-sized blocks, and returns one index box per cluster grown by `pad`. Boxes that would
overlap are merged, so no voxel is ever computed from two windows. A command then reads and
processes each box as its own dense window (`read_grid(..., bbox=box)`).

With `pad` at least a network's receptive radius, every voxel of a window sees exactly the
inputs it would see in a whole-volume run: smoke of another cluster is more than `pad` away.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from .vdb import call_openvdb, dense_limit_bytes, list_grids
from .openvdb_module import openvdb

Box = tuple[tuple[int, int, int], tuple[int, int, int]]  # inclusive, like OpenVDB's


def regions_mode() -> str:
    """`BILLOW_REGIONS`: auto (default), always or never."""
    mode = os.environ.get("BILLOW_REGIONS", "auto")
    if mode not in ("auto", "always", "never"):
        raise InputError(f"BILLOW_REGIONS={mode!r}: expected auto, always or never")
    return mode


def worth_regions(cells: float, active: float) -> bool:
    """A block of `cells` voxels with `active` of them in use is better done region by
    region: over 64 M voxels or more than a quarter of the dense-memory limit, under 5% active."""
    big = cells > 64 * 2**20 or cells * 16 > dense_limit_bytes() / 4
    return big and active < 0.05 * cells


def use_regions(path: str | Path, names: list[str], pad: int) -> bool:
    """Whether a frame is better processed region by region: `BILLOW_REGIONS=always|never`,
    else (auto) `worth_regions` of its padded bounding box."""
    mode = regions_mode()
    if mode != "auto":
        return mode == "always"
    infos = [i for i in list_grids(path) if i.name in names and i.bbox is not None]
    if not infos:
        return False
    lo = np.min([i.bbox[0] for i in infos], axis=0) - pad
    hi = np.max([i.bbox[1] for i in infos], axis=0) + pad
    cells = float(np.prod((hi - lo + 1).astype(float)))
    return worth_regions(cells, float(sum(i.active_voxels for i in infos)))


def _blocks(path, name: str, cell: int, divisor: int = 1) -> dict[tuple[int, int, int], list]:
    """Block coordinate -> [lo, hi] of the active values inside it (inclusive, voxels of a
    grid `divisor` times coarser: a high-res grid over its low-res input)."""
    grid = call_openvdb(path, f"read grid '{name}'", openvdb().read, str(path), name)
    out: dict[tuple[int, int, int], list] = {}
    for item in grid.iterOnValues():
        lo = [v // divisor for v in item.min]
        hi = [v // divisor for v in item.max]
        # a tile (depth < 3) spans many blocks: cover every block it touches
        b0 = [v // cell for v in lo]
        b1 = [v // cell for v in hi]
        for bx in range(b0[0], b1[0] + 1):
            for by in range(b0[1], b1[1] + 1):
                for bz in range(b0[2], b1[2] + 1):
                    key = (bx, by, bz)
                    box = out.get(key)
                    if box is None:
                        out[key] = [list(lo), list(hi)]
                    else:
                        box[0] = [min(a, b) for a, b in zip(box[0], lo)]
                        box[1] = [max(a, b) for a, b in zip(box[1], hi)]
    del grid
    return out


def _overlap(a: Box, b: Box) -> bool:
    return all(a[0][k] <= b[1][k] and b[0][k] <= a[1][k] for k in range(3))


def _union(a: Box, b: Box) -> Box:
    return (tuple(min(x, y) for x, y in zip(a[0], b[0])),
            tuple(max(x, y) for x, y in zip(a[1], b[1])))


def occupied_regions(path: str | Path, names: list[str], pad: int) -> list[Box]:
    """Index boxes (inclusive) covering every active voxel of the grids `names`, each grown by
    `pad` voxels, pairwise disjoint; sorted. Empty grids give no box."""
    return occupied_regions_of([(path, name, 1) for name in names], pad)


def occupied_regions_of(grids: list[tuple[str | Path, str, int]], pad: int) -> list[Box]:
    """`occupied_regions` of several grids, given as (file, grid name, divisor), laid over one
    another in the index space of the coarsest: e.g. every frame of a low-res input (divisor
    1) and of its f-times finer upres (divisor f), for a region set that holds for the whole
    sequence."""
    cell = max(8, 2 * pad + 2)  # blocks further apart than this cannot share a padded box
    blocks: dict[tuple[int, int, int], list] = {}
    for path, name, divisor in grids:
        for key, (lo, hi) in _blocks(path, name, cell, divisor).items():
            if key in blocks:
                old = blocks[key]
                blocks[key] = [[min(a, b) for a, b in zip(old[0], lo)],
                               [max(a, b) for a, b in zip(old[1], hi)]]
            else:
                blocks[key] = [lo, hi]
    # connected components of occupied blocks (26-neighbourhood), by union-find
    parent = {k: k for k in blocks}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    steps = [(i, j, l) for i in (-1, 0, 1) for j in (-1, 0, 1) for l in (-1, 0, 1)]
    for k in blocks:
        for s in steps:
            n = (k[0] + s[0], k[1] + s[1], k[2] + s[2])
            if n in blocks:
                a, b = find(k), find(n)
                if a != b:
                    parent[a] = b
    boxes: dict[tuple, Box] = {}
    for k, (lo, hi) in blocks.items():
        r = find(k)
        box = (tuple(int(v) - pad for v in lo), tuple(int(v) + pad for v in hi))
        boxes[r] = _union(boxes[r], box) if r in boxes else box
    merged = list(boxes.values())
    changed = True
    while changed:  # boxes of odd-shaped clusters may still overlap: merge them
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                if _overlap(merged[i], merged[j]):
                    merged[i] = _union(merged[i], merged.pop(j))
                    changed = True
                    break
            if changed:
                break
    return sorted(merged)


def clip_regions(boxes: list[Box], lo, hi) -> list[Box]:
    """`boxes` cut to the block lo..hi (inclusive); boxes left empty are dropped. Commands
    whose one-block run stops at the active bounding box (its samples beyond it repeat the
    border) clip their regions to it, so that region by region equals the one-block run."""
    out = []
    for a, b in boxes:
        a2 = tuple(max(int(x), int(y)) for x, y in zip(a, lo))
        b2 = tuple(min(int(x), int(y)) for x, y in zip(b, hi))
        if all(x <= y for x, y in zip(a2, b2)):
            out.append((a2, b2))
    return out
