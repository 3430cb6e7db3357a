"""N-D tiling with a halo (`billow.ops.tiling`): cores cover every cell once, halos see the
same zeros as a whole run, empty tiles are skipped, tuple outputs (the UV model) are cut too."""

from __future__ import annotations

import numpy as np
from billow.ops.tiling import (
    core_of,
    grid_tiles,
    halo_window,
    occupied_tiles,
    plan_tiles,
    run_tiles,
)


def test_plan_covers_every_cell_once():
    tiles = plan_tiles((10, 7, 5), 4)
    count = np.zeros((10, 7, 5), int)
    for t in tiles:
        count[tuple(slice(l, h) for l, h in zip(t.lo, t.hi))] += 1
    assert (count == 1).all()


def test_grid_tiles_are_exact_and_cover_once():
    tiles = grid_tiles((12, 8), 4)
    assert {t.shape for t in tiles} == {(4, 4)} and len(tiles) == 6
    count = np.zeros((12, 8), int)
    for t in tiles:
        count[tuple(slice(l, h) for l, h in zip(t.lo, t.hi))] += 1
    assert (count == 1).all()
    assert [t.shape for t in grid_tiles((12, 8), (12, 8))] == [(12, 8)]


def test_halo_window_is_the_zero_padded_neighbourhood():
    rng = np.random.default_rng(0)
    x = rng.random((2, 9, 7, 5)).astype(np.float32)  # channels first
    padded = np.pad(x, [(0, 0)] + [(3, 3)] * 3)
    for t in plan_tiles(x.shape[1:], 4):
        got = halo_window(x, t, 3, leading=1)
        want = padded[(slice(None),) + tuple(slice(l, h + 6) for l, h in zip(t.lo, t.hi))]
        assert got.dtype == x.dtype and np.array_equal(got, want)
        assert np.array_equal(core_of(got, t, 3, leading=1),
                              x[(slice(None),) + tuple(slice(l, h) for l, h in
                                                       zip(t.lo, t.hi))])
    last = np.moveaxis(x, 0, -1)  # channels last: trailing axes are taken whole
    t = plan_tiles(last.shape[:3], 4)[0]
    assert np.array_equal(halo_window(last, t, 2), np.moveaxis(halo_window(x, t, 2, leading=1),
                                                                0, -1))


def test_empty_tiles_are_skipped():
    occupied = np.zeros((40, 8, 8), bool)
    occupied[2, 4, 4] = True
    tiles = plan_tiles(occupied.shape, 8)
    kept = occupied_tiles(tiles, occupied, halo=3)
    assert len(tiles) == 5 and len(kept) == 1
    calls = []
    out = list(run_tiles(np.zeros((1, 40, 8, 8), np.float32),
                         lambda x: calls.append(x.shape) or np.zeros(
                             (x.shape[0], 1) + tuple(4 * n for n in x.shape[2:]), np.float32),
                         scale=4, halo=3, tiles=kept))
    assert calls == [(1, 1, 14, 14, 14)] and out[0][1].shape == (1, 32, 32, 32)


def test_tuple_outputs_are_cut_per_output():
    x = np.arange(2 * 8 * 8, dtype=np.float32).reshape(2, 8, 8)
    out = dict(run_tiles(x, lambda b: (b[:, :1] * 2, b[:, 1:] + 1), scale=1, halo=2,
                         tiles=grid_tiles((8, 8), 4)))
    for t, (a, b) in out.items():
        window = tuple(slice(l, h) for l, h in zip(t.lo, t.hi))
        assert np.array_equal(a[0], x[0][window] * 2) and np.array_equal(b[0], x[1][window] + 1)
