"""Tile planning for the core-only runner (issue 20 item 2): the measured memory model, the
work a tile size costs, the warning for halo-dominated tiles, and what `--dry-run` reports."""

from __future__ import annotations

import json

from billow.infer import UpresConfig, load_card
from billow.infer.backends import has_core_pass, work_per_voxel
from billow.infer.models import default_model
from billow.infer.upres import (
    HALO_DOMINATED,
    tile_for_memory,
    tile_memory_bytes,
    tile_note,
    tile_work,
)
import numpy as np
from billow.io import Volume, write_vdb

from ..commands.cli_helpers import billow_here
from ..conftest import blob, scaled_matrix


def test_core_only_tiles_cost_less_memory_and_allow_larger_tiles():
    card = load_card(default_model())
    assert has_core_pass(card)
    for tile in (16, 48):
        assert tile_memory_bytes(card, tile, 1, core=True) < tile_memory_bytes(card, tile, 1,
                                                                                 core=False)
    assert tile_memory_bytes(card, 48, 2) > tile_memory_bytes(card, 48, 1)
    assert tile_for_memory(card, 2.0, 1) == 48  # the default tile fits the default 2 GB


def test_work_per_voxel_falls_with_the_tile_and_core_only_is_cheaper():
    card = load_card(default_model())
    core = [work_per_voxel(card, t, True) for t in (8, 16, 32, 64)]
    padded = [work_per_voxel(card, t, False) for t in (8, 16, 32, 64)]
    assert core == sorted(core, reverse=True) and padded == sorted(padded, reverse=True)
    assert all(c < p for c, p in zip(core, padded))
    # an unbounded tile computes (almost) no halo: both paths meet
    big_c, big_p = work_per_voxel(card, 1024, True), work_per_voxel(card, 1024, False)
    assert 1.0 < big_p / big_c < 1.1


def test_halo_dominated_tiles_are_named():
    card = load_card(default_model())
    default = UpresConfig().tile
    assert tile_note(card, default, None) is None  # the defaults never warn
    small = tile_note(card, 8, 0.01)
    assert small and "--max-memory 0.01 allows only 8-cell tiles" in small
    assert tile_work(card, 8)[1] > HALO_DOMINATED > tile_work(card, default)[1]


def test_a_card_without_torch_weights_keeps_the_padded_model(toy_model):
    card = load_card(toy_model)
    assert not has_core_pass(card) and tile_work(card, 8) is None
    assert tile_note(card, 8, None) is None
    assert tile_memory_bytes(card, 16, 1) == tile_memory_bytes(card, 16, 1, core=False)


def _frame(tmp_path, shape=(24, 20, 24)):
    d = blob(shape, tuple(n // 2 for n in shape), 4.0)
    v = np.zeros(shape + (3,), np.float32)
    m = scaled_matrix(0.1, (0, 0, 0))
    return write_vdb(tmp_path / "in.vdb", [Volume("density", d, (0, 0, 0), m),
                                           Volume("vel", v, (0, 0, 0), m,
                                                  vector_type="contravariant relative")])


def test_a_run_with_small_tiles_says_so(tmp_path):
    src = _frame(tmp_path, (12, 10, 12))
    r = billow_here("upres", src, tmp_path / "o.vdb", "--tile", "8", "--progress", "none")
    assert r.code == 0, r.err
    halo_work = tile_work(load_card(default_model()), 8)[1]
    assert f"warning: --tile 8 is small: each tile computes {halo_work:.1f}x" in r.err
    r = billow_here("upres", src, tmp_path / "o2.vdb", "--progress", "none")
    assert r.code == 0 and "is small" not in r.err


def test_dry_run_reports_core_only_work_and_the_warning(tmp_path):
    src = _frame(tmp_path)
    r = billow_here("upres", src, tmp_path / "o.vdb", "--max-memory", "0.01", "--dry-run")
    assert r.code == 0, r.err
    assert "core-only" in r.out and "multiply-adds per output voxel" in r.out
    assert "warning --max-memory 0.01 allows only 8-cell tiles" in r.out
    r = billow_here("upres", src, tmp_path / "o.vdb", "--dry-run", "--progress", "json")
    plan = json.loads(r.out)
    default = UpresConfig().tile
    assert plan["core_only"] and plan["tile_note"] is None and plan["tile"] == default
    assert plan["macs_per_output_voxel"] == round(work_per_voxel(load_card(default_model()),
                                                                 default, True))
