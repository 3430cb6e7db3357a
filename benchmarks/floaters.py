"""Floaters: smoke an upres puts where the input has none. Per set and method, the share of the
output's mass (and its largest voxel) outside tricubic's support (tricubic < 1e-5: beyond the
input's smoke and its interpolation footprint), beside the same for the true high-res frame.

    python benchmarks/floaters.py --data /work/data/ood --eval /work/data/ood_eval \\
        --methods s6,s28c --frame 10

Session 19, frame 10 of the five 128^3 sets: `s28c` puts 0.02-0.08% of its mass there (largest
voxel 0.007-0.075; the reference 0.002-0.07%, largest 0.02-0.17), the previous default `s6`
0.16-0.26% (largest up to 0.42: the specks in `docs/results/ood_render_dense_f10.png`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ood_look import density, frame_file, set_shape

SETS = ("phi_dense_128", "phi_wisps_128", "ood_dense_128", "ood_wisps_128", "ood_obstacle_128")


def outside(y, empty) -> tuple[float, float]:
    """(share of y's mass where `empty`, y's largest value there)."""
    total = float(y.sum())
    return (float(y[empty].sum()) / total if total > 0 else 0.0,
            float(y[empty].max()) if empty.any() else 0.0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="ood_benchmark generate's folder")
    p.add_argument("--eval", type=Path, required=True, help="ood_benchmark eval's folder")
    p.add_argument("--methods", required=True, help="comma-separated method folders")
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--frame", type=int, default=10)
    a = p.parse_args(argv)
    methods = [m for m in a.methods.split(",") if m]
    print("| set | " + " | ".join(f"{m} mass share / max" for m in methods + ["reference"])
          + " |")
    print("|---" * (len(methods) + 2) + "|")
    for s in (x for x in a.sets.split(",") if x):
        shape = set_shape(a.data / s)
        empty = density(frame_file(a.eval / s / "tricubic", a.frame), shape) < 1e-5
        ys = [density(frame_file(a.eval / s / m, a.frame), shape) for m in methods]
        ys.append(density(a.data / s / "vdb" / "sim_0000" / f"hr.{a.frame:04d}.vdb", shape))
        cells = [outside(y, empty) for y in ys]
        print(f"| {s} | " + " | ".join(f"{100 * f:.3f}% / {m:.3f}" for f, m in cells) + " |")


if __name__ == "__main__":
    main()
