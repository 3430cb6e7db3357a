"""benchmarks/ood_motion.py: on a fake set whose reference texture moves one voxel per frame,
detail re-drawn every frame reads as more flicker than the reference, still detail as none; the
GIF has one image per frame pair and the flicker map is written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from billow.io import Volume, write_vdb

from tests.conftest import blob, scaled_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import ood_motion


def write(path: Path, data: np.ndarray) -> None:
    side = data.shape[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_vdb(path, [Volume("density", data.astype(np.float32), (0, 0, 0),
                            scaled_matrix(1 / side, (0.5 / side,) * 3))])


def waves(g) -> np.ndarray:
    """Texture of 6-voxel waves in random directions and phases: a one-voxel shift changes it
    a little, a fresh draw completely."""
    x = np.stack(np.meshgrid(*[np.arange(32)] * 3, indexing="ij"), -1)
    t = sum(np.cos(2 * np.pi * x @ (d / np.linalg.norm(d)) / 6 + g.uniform(0, 2 * np.pi))
            for d in g.normal(size=(6, 3)))
    return 1 + 0.1 * t


def test_redrawn_detail_flickers_and_still_detail_does_not(tmp_path):
    g = np.random.default_rng(0)
    smoke = 0.2 + blob((32,) * 3, (15.5,) * 3, 10)
    texture = waves(g)
    sim, ev = tmp_path / "set" / "vdb" / "sim_0000", tmp_path / "eval"
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "set.json").write_text(json.dumps({"hr_res": [32, 32, 32]}))
    for f in (1, 2, 3):
        ref = smoke * np.roll(texture, f, axis=0)  # texture carried one voxel per frame
        write(sim / f"hr.{f:04d}.vdb", ref)
        write(sim / f"lr.{f:04d}.vdb", ref.reshape(8, 4, 8, 4, 8, 4).mean((1, 3, 5)))
        write(ev / "still" / f"up.{f:04d}.vdb", smoke * texture)
        write(ev / "redrawn" / f"up.{f:04d}.vdb", smoke * waves(g))
    out = tmp_path / "m"
    ood_motion.main(["--set-dir", str(tmp_path / "set"), "--eval-dir", str(ev), "--methods",
                     "still,redrawn", "--frames", "1-3", "--out", str(out)])
    from PIL import Image

    assert Image.open(out.with_suffix(".gif")).n_frames == 2
    assert out.with_suffix(".png").stat().st_size > 0
    a = ood_motion.argparse.Namespace(set_dir=tmp_path / "set", eval_dir=ev,
                                      methods=["still", "redrawn"], labels=["still", "redrawn"])
    _, ratio = ood_motion.slice_flicker(ood_motion.columns(a, [1, 2, 3], (32, 32, 32)))
    assert ratio["reference"] == 1 and ratio["still"] < 1e-6
    assert ratio["redrawn"] > 1.2, ratio  # re-drawn detail changes by its whole amplitude
