"""`billow info` on real files."""

from __future__ import annotations

import json

import numpy as np

from billow.samples import PLUME

from ..conftest import blob, raw_grid, scaled_matrix
from .cli_helpers import billow


def test_info_table_on_the_bundled_sample():
    r = billow("info", PLUME)
    assert r.code == 0, r.err
    assert "density" in r.out and "fog volume" in r.out and "vel" in r.out and "vec3s" in r.out


def test_info_json_on_a_sequence(write_raw, vdb, tmp_path):
    for f in (1, 2, 3):
        write_raw(f"seq/smoke.{f:04d}.vdb",
                  raw_grid(vdb, "density", blob((8, 8, 8), (4, 4, 4), 2), (f, 0, 0),
                           scaled_matrix(0.5)))
    r = billow("info", tmp_path / "seq/smoke.$F4.vdb", "--json", "--frames", "2-3")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert [f["frame"] for f in report] == [2, 3]
    grid = report[1]["grids"][0]
    data = blob((8, 8, 8), (4, 4, 4), 2)
    assert grid["active_voxels"] == int((data > 0).sum())
    assert grid["bbox"][0][0] == 3 + int(np.argwhere(data > 0)[:, 0].min())
    assert grid["voxel_size"] == [0.5, 0.5, 0.5]
