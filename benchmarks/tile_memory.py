"""Working memory of the network per output voxel, for `--max-memory` (issue 20).

tracemalloc does not see ONNX Runtime's allocations, so each tile size runs in a fresh child
process (the engine's own backend, 1 thread) and the child's peak resident set
(`ru_maxrss` of its own rusage from `os.wait4`) is compared with a
child that loads the same session and runs a tiny tile. The increase is fitted as
`a + b * output voxels` (least squares); `b` is the model's working bytes per output voxel,
what `billow.infer.upres.tile_memory_bytes` uses when a card does not say.

`--path core` (the default; what upres runs since issue 20): the tile runner computes only the
core, and the voxels counted are the core's output voxels. `--path padded`: the whole window's
output (`backend.run`), the voxels counted are the padded window's output voxels.

    python benchmarks/tile_memory.py [--model engine/billow/models/smoke3d_x4.onnx] [--tiles 8,16,24,32,40,48] [--path core|padded]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

CHILD = r"""
import json, sys, resource
import numpy as np
from billow.infer import load_card, make_backend
card = load_card(sys.argv[1])
backend = make_backend(card, threads=1)
t = int(sys.argv[2])
n = t + 2 * card.halo
x = np.random.default_rng(0).random((1, len(card.inputs)) + (n,) * card.dim, np.float32)
run = backend.core(card.halo, card.scale) if sys.argv[3] == "core" else backend.run
if sys.argv[3] == "core":
    run(x[(slice(None),) * 2 + (slice(0, 2 * card.halo + 1),) * card.dim])  # built first
y = run(x)
print(json.dumps({"voxels": int(y[0, 0].size)}))
"""


def peak_rss_of_child(model: str, tile: int, path: str) -> tuple[int, int]:
    """(peak RSS bytes, output voxels) of one child running one tile of `tile` core cells.
    `os.wait4` gives this child's own rusage (`RUSAGE_CHILDREN` would be the largest child
    so far)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, model, str(tile), path],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"tile {tile}: child exited {proc.returncode}")
    return usage.ru_maxrss * 1024, json.loads(out.strip().splitlines()[-1])["voxels"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None)
    p.add_argument("--tiles", default="8,16,24,32,40,48")
    p.add_argument("--path", choices=("core", "padded"), default="core")
    a = p.parse_args()
    from billow.infer.models import default_model

    model = a.model or str(default_model())
    tiles = sorted(int(t) for t in a.tiles.split(","))
    base, base_vox = peak_rss_of_child(model, 1, a.path)
    rows = []
    for t in tiles:
        rss, vox = peak_rss_of_child(model, t, a.path)
        rows.append((t, vox, rss - base))
        print(f"tile {t:3d}: {a.path} output {vox:>11,d} voxels, peak RSS "
              f"+{(rss - base) / 2**20:8.1f} MiB ({(rss - base) / vox:6.1f} B/voxel)", flush=True)
    v = np.array([r[1] for r in rows], float)
    m = np.array([r[2] for r in rows], float)
    b, a0 = np.polyfit(v, m, 1)
    resid = m - (a0 + b * v)
    print(f"fit: peak working memory = {a0 / 2**20:.1f} MiB + {b:.1f} B x {a.path} output voxels "
          f"(max residual {np.abs(resid).max() / 2**20:.1f} MiB); the card's default "
          f"bytes_per_output_voxel was 256")


if __name__ == "__main__":
    main()
