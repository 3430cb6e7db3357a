"""How far each interpolation base is from the high-res reference, out of family: L1 to the
reference over tricubic's L1 for linear (the default model's base), tricubic, and tricubic
followed by 1-3 back-projection steps onto the input's 4^3 block means (`tricubic-bp` is 3),
with the lattice measure over the reference's, on box-averaged inputs of the out-of-family sets.

    python benchmarks/ood_benchmark.py generate ...    # the sets, once (benchmarks/README_ood.md)
    python benchmarks/base_l1.py --data /work/data/ood [--sets phi_dense_128,...] [--frames 5,15]

Why: the default model adds its residual to the linear base, so the base bounds what the
network starts from (issue 17, session 7).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ood_benchmark import _dense  # noqa: E402  (the benchmark's one VDB-to-dense reader)

SETS = "phi_dense_128,phi_wisps_128,ood_dense_128,ood_obstacle_128,ood_wisps_128"


def bases(low: torch.Tensor) -> dict[str, torch.Tensor]:
    from billow.ops import interpolate_linear, project_block_means, upsample

    x = low[None, None]
    tri = upsample(x, 4, "tricubic").clamp(min=0)
    out = {"linear": interpolate_linear(x, 4), "tricubic": tri}
    y = tri
    for n in (1, 2, 3):
        y = project_block_means(y, x, 4)
        out[f"tricubic+{n}bp"] = y
    return {k: v[0, 0] for k, v in out.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder written by `ood_benchmark.py generate`")
    ap.add_argument("--sets", default=SETS)
    ap.add_argument("--frames", default="5,15")
    a = ap.parse_args(argv)
    from billow.metrics import lattice_measure

    frames = [int(f) for f in a.frames.split(",")]
    for name in a.sets.split(","):
        if not (Path(a.data) / name / "set.json").is_file():
            raise SystemExit(f"base_l1: {Path(a.data) / name}: no set.json (run "
                             "ood_benchmark.py generate)")
    print("| set | base | L1 / tricubic | lattice / reference |\n|---|---|---|---|")
    for name in a.sets.split(","):
        root = Path(a.data) / name
        shape = tuple(json.loads((root / "set.json").read_text())["hr_res"])
        l1: dict[str, list] = {}
        lat: dict[str, list] = {}
        for t in frames:
            hr = torch.from_numpy(_dense(root / "vdb/sim_0000" / f"hr.{t:04d}.vdb", shape))
            low = torch.nn.functional.avg_pool3d(hr[None, None], 4)[0, 0]  # the box input
            ref_lat = lattice_measure(hr)
            for k, y in bases(low).items():
                l1.setdefault(k, []).append(float((y - hr).abs().mean()))
                lat.setdefault(k, []).append(lattice_measure(y) / ref_lat)
        tri = np.mean(l1["tricubic"])
        for k in l1:
            print(f"| {name} | {k} | {np.mean(l1[k]) / tri:.3f} | {np.mean(lat[k]):.2f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
