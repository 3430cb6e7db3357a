"""Memory follows the active voxels: upres, convert, baseline and eval a sparse cache whose
bounding box would never fit in memory, and print the peak resident memory of each run.

    python benchmarks/sparse_upres.py [--distance 100000] [--blob 16]

The cache: two smoke puffs of `blob`^3 voxels (density + velocity), `distance` voxels apart
along every axis. Its bounding box is `distance`^3 voxels: 1e5 gives 4e15 bytes of float32
density alone. Each run is a real `billow` subprocess; the ratio printed is the peak memory
over what a dense read of the bounding box would need. `eval` measures the upres against its
input and the nearest and tricubic baselines; `baseline --method wavelet` is expected to
refuse in one line (exit 2: its state lives on one block, docs/guarantees.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))

from billow.io.openvdb_module import openvdb  # noqa: E402


def puff(n: int) -> tuple[np.ndarray, np.ndarray]:
    c = np.arange(n) - (n - 1) / 2
    x, y, z = np.meshgrid(c, c, c, indexing="ij")
    d = (0.8 * np.exp(-(x**2 + y**2 + z**2) / (n / 4) ** 2)).astype(np.float32)
    v = np.zeros(d.shape + (3,), np.float32)
    v[..., 1] = np.where(d > 1e-3, 0.4, 0.0)
    d[d < 1e-3] = 0
    return d, v


def write_cache(path: Path, distance: int, n: int) -> None:
    vdb = openvdb()
    d, v = puff(n)
    dens, vel = vdb.FloatGrid(), vdb.Vec3SGrid()
    dens.name, vel.name = "density", "vel"
    for grid, data in ((dens, d), (vel, v)):
        for corner in ((0, 0, 0), (distance,) * 3):
            grid.copyFromArray(data, corner)
        grid.transform = vdb.createLinearTransform(0.1)
    vdb.write(str(path), [dens, vel])


def run(args: list[str], cwd: Path) -> tuple[int, float, float, str]:
    """(exit code, peak RSS MB, seconds, last stderr line) of one CLI run."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "engine"))
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-m", "billow", *args], cwd=cwd, env=env,
                             stdout=subprocess.DEVNULL, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        err.seek(0)
        lines = [ln for ln in err.read().splitlines() if ln.strip()]
    return (os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024,
            time.perf_counter() - t, lines[-1] if lines else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--distance", type=int, default=100_000)
    ap.add_argument("--blob", type=int, default=16)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_cache(tmp / "sparse.vdb", a.distance, a.blob)
        dense_gb = float(a.distance + a.blob) ** 3 * 4 / 2**30
        print(f"cache: two {a.blob}^3 puffs {a.distance} voxels apart; "
              f"{(tmp / 'sparse.vdb').stat().st_size / 1024:.0f} KB on disk; its bounding box "
              f"read densely: {dense_gb:.3g} GB (density alone)")
        for name, cmd in (("info", ["info", "sparse.vdb"]),
                          ("convert", ["convert", "sparse.vdb", "conv.vdb", "--progress", "none"]),
                          ("upres", ["upres", "sparse.vdb", "up.vdb", "--progress", "none"]),
                          ("baseline", ["baseline", "sparse.vdb", "tc.vdb", "--method",
                                        "tricubic", "--progress", "none"]),
                          ("wavelet", ["baseline", "sparse.vdb", "wt.vdb", "--method",
                                       "wavelet", "--progress", "none"]),
                          ("eval", ["eval", "--input", "sparse.vdb", "--output", "up.vdb",
                                    "--baselines", "nearest,tricubic", "--report", "report",
                                    "--progress", "none"])):
            code, peak, secs, last = run(cmd, tmp)
            print(f"billow {name:8s} exit {code}  peak RSS {peak:7.0f} MB  {secs:6.1f} s  "
                  f"peak / dense bbox {peak / 1024 / dense_gb:.2e}"
                  + (f"  ({last})" if code else ""))
        if (tmp / "up.vdb").exists():
            from billow.io import list_grids

            for g in list_grids(tmp / "up.vdb"):
                print(f"  upres output grid {g.name}: {g.active_voxels} active voxels, "
                      f"bbox {g.bbox}")


if __name__ == "__main__":
    main()
