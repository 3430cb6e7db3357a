"""Quality of the baselines on a held-out simulation: simulate a 3D plume with billow's solver
(a preset and seed that `billow dataset` does not draw), derive the low-res input exactly as the
training data does (`billow.ops.downsample` / `downsample_velocity`), write both as VDB
sequences, then run `billow eval` with nearest / trilinear / tricubic / wavelet turbulence
against the high-res reference and print the table and the time the report took.

    python benchmarks/quality_baselines.py --res 128 --frames 30 --warmup 40 --out /tmp/q
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from billow.io import SmokeFrame, Volume, upres_matrix, write_smoke_frame
from billow.ops import downsample, downsample_velocity


def write(path: Path, density: torch.Tensor, velocity: torch.Tensor, matrix, half: bool):
    dens = Volume("density", np.ascontiguousarray(density.numpy(), np.float32), (0, 0, 0),
                  matrix)
    vel = Volume("vel", np.ascontiguousarray(velocity.permute(1, 2, 3, 0).numpy(), np.float32),
                 (0, 0, 0), matrix, vector_type="contravariant relative")
    write_smoke_frame(path, SmokeFrame(path, dens, vel, {}, {"fps": 24.0}), half=half)


def simulate(args) -> tuple[str, str]:
    from billow.sim import Domain, Solver, preset

    out = Path(args.out)
    hr_pat, lr_pat = out / "hr" / "plume.####.vdb", out / "lr" / "plume.####.vdb"
    last = args.warmup + args.frames - 1
    if (out / "lr" / f"plume.{last:04d}.vdb").exists():
        print(f"reusing the simulation in {out}")
        return str(hr_pat), str(lr_pat)
    f = args.factor
    solver = Solver(Domain((args.res,) * 3), preset(args.scene, 3, seed=args.seed))
    # index-to-world of the high-res cells: voxel h, cell i centred at (i + 1/2) h; the low-res
    # grid is the one whose exact upres this is
    h = 1.0 / args.res
    lr_m = np.diag([h * f, h * f, h * f, 1.0])
    lr_m[3, :3] = 0.5 * h * f
    hr_m = upres_matrix(lr_m, f)
    start = time.perf_counter()
    for frame in range(last + 1):
        stats = solver.advance_frame()
        if frame < args.warmup:
            continue
        rho, vel = solver.density().float(), solver.velocity().float()
        write(Path(str(hr_pat).replace("####", f"{frame:04d}")), rho, vel, hr_m, True)
        lr = downsample(rho[None, None], f)[0, 0]
        v_lr = downsample_velocity(vel[None], f)[0]
        write(Path(str(lr_pat).replace("####", f"{frame:04d}")), lr, v_lr, lr_m, False)
        print(f"frame {frame}: {stats['seconds']:.1f} s, {stats['cg_iterations']} CG "
              f"iterations, density sum {float(rho.sum()):.1f}", flush=True)
    print(f"simulated {last + 1} frames of {args.res}^3 in {time.perf_counter() - start:.0f} s")
    return str(hr_pat), str(lr_pat)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--res", type=int, default=128, help="high-res size (default 128)")
    p.add_argument("--factor", type=int, default=4)
    p.add_argument("--frames", type=int, default=30, help="frames evaluated")
    p.add_argument("--warmup", type=int, default=40, help="frames simulated before them")
    p.add_argument("--scene", default="plume")
    p.add_argument("--seed", type=int, default=1001, help="noise seed of the held-out scene")
    p.add_argument("--baselines", default="nearest,trilinear,tricubic,wavelet")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    hr, lr = simulate(args)
    cmd = [sys.executable, "-m", "billow", "eval", "--input", lr, "--reference", hr,
           "--baselines", args.baselines, "--report", str(Path(args.out) / "report"),
           "--progress", "log"]
    print("$ billow " + " ".join(cmd[3:]), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"billow eval took {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
