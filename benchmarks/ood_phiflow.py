"""High-resolution smoke from a third-party solver, PhiFlow (`pip install phiflow`, numpy
backend), for the out-of-family benchmark (`benchmarks/ood_benchmark.py generate` runs this).

Runs in PhiFlow's own Python (no torch, no billow needed):

    /work/phiflow-venv/bin/python benchmarks/ood_phiflow.py --scene phi_dense --res 128 \
        --frames 20 --out /work/data/ood/phi_dense_128/raw

and writes `OUT/frame_0001.npz ...` (density (X, Y, Z) and centred velocity (3, X, Y, Z) in
high-res cells per frame, float32, [x, y, z] with y up) plus `OUT/meta.json` once every frame is
there. billow's side (ood_benchmark.py) derives the low-res inputs and writes the VDBs.

Scenes (PhiFlow's MacCormack density advection, semi-Lagrangian self-advection, Boussinesq
buoyancy, its CG pressure solve with `Obstacle`s; domain in high-res cells, dt = 1 frame;
walls on the sides and floor, open top):
- `phi_dense`: the issue's case: a noise-textured block of smoke filling most of the domain,
  density up to 1, weak buoyancy, moving about 0.03 low-res cells per frame;
- `phi_wisps`: thin, fast smoke: faint sheets (density 0.05-0.2) stirred by a fast random flow
  and three small inflows with strong jets, around a sphere and a plate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ood_fields as F  # noqa: E402

SCENES = ("phi_dense", "phi_wisps")


def _patch_phiml_int32() -> None:
    """phiml 1.16's numpy backend casts raveled sparse-matrix indices back to the index dtype
    (int32), which overflows for pressure matrices above ~46^3 cells when the matrix is
    compressed (ValueError 'index -2147479552 is out of bounds'). Ravel in int64 instead."""
    from phiml.backend._numpy_backend import NumPyBackend

    original = NumPyBackend.ravel_multi_index

    def ravel_multi_index(self, multi_index, shape, mode="undefined"):
        return original(self, np.asarray(multi_index, np.int64), shape, mode)

    NumPyBackend.ravel_multi_index = ravel_multi_index


def simulate(scene: str, res: int, frames: int, out: Path, seed: int) -> dict:
    from phi import geom as pg
    from phi import math as pm
    from phi.flow import (ZERO_GRADIENT, Box, CenteredGrid, NotConverged, Obstacle, Solve,
                          Sphere, StaggeredGrid, advect, extrapolation, fluid, resample)

    _patch_phiml_int32()
    n = res
    shape = (n, n, n)
    bounds = Box(x=n, y=n, z=n)  # one unit = one high-res cell
    vel_bc = extrapolation.combine_sides(x=0, y=(0, ZERO_GRADIENT), z=0)  # open top

    def centred(arr, bc=0):
        return CenteredGrid(pm.tensor(arr, pm.spatial("x,y,z")), bc, bounds=bounds, x=n, y=n,
                            z=n)

    def vector(arr):  # (3, X, Y, Z) numpy -> centred vector field
        return CenteredGrid(pm.tensor(np.moveaxis(arr, 0, -1), pm.spatial("x,y,z"),
                                      pm.channel(vector="x,y,z")), 0, bounds=bounds, x=n, y=n,
                            z=n)

    obstacles, inflow, jet, jet_mask = [], None, None, None
    if scene == "phi_dense":
        density = F.dense_block(shape, seed)
        v0 = F.smooth_velocity(shape, seed, rms=0.10)  # high-res cells / frame
        buoyancy, warmup = 0.003, 0
        info = "dense noise-textured block, density up to 1, weak buoyancy, slow"
    elif scene == "phi_wisps":
        density = F.wisp_sheets(shape, seed)
        v0 = F.smooth_velocity(shape, seed, rms=1.5, largest=0.3)
        buoyancy, warmup = 0.1, 4
        noise = 0.5 + 0.5 * np.clip(F.fractal_noise(shape, seed + 3, largest=0.1), -1, 1)
        centres = ((0.25, 0.1, 0.35), (0.7, 0.08, 0.6), (0.45, 0.12, 0.75))
        targets = ((1.5, 3.5, 0.5), (-2.0, 3.0, -1.0), (0.5, 4.0, -1.5))  # cells / frame
        src = np.zeros(shape, np.float32)
        jv = np.zeros((3,) + shape, np.float32)
        jm = np.zeros(shape, np.float32)
        for c, t in zip(centres, targets):
            m = F.ball(shape, c, 0.025).astype(np.float32)
            src = np.maximum(src, m * 0.2 * noise)
            jm = np.maximum(jm, m)
            jv += m[None] * np.array(t, np.float32)[:, None, None, None]
        inflow = centred(src)
        jet = StaggeredGrid(vector(jv), vel_bc, bounds=bounds, x=n, y=n, z=n)
        jet_mask = StaggeredGrid(vector(np.stack([jm] * 3)), vel_bc, bounds=bounds, x=n, y=n,
                                 z=n)
        obstacles = [Obstacle(Sphere(x=0.42 * n, y=0.55 * n, z=0.5 * n, radius=0.1 * n)),
                     Obstacle(Box(x=(0.58 * n, 0.82 * n), y=(0.72 * n, 0.76 * n),
                                  z=(0.3 * n, 0.7 * n)))]
        info = ("faint sheets (density 0.05-0.2), fast random flow, three small inflows with "
                "strong jets, a sphere and a plate as obstacles")
    else:
        raise SystemExit(f"--scene {scene}: choose {', '.join(SCENES)}")

    smoke = centred(density, ZERO_GRADIENT)
    velocity = StaggeredGrid(vector(v0), vel_bc, bounds=bounds, x=n, y=n, z=n)
    solid = None
    if obstacles:
        solid = resample(pg.union([o.geometry for o in obstacles]), to=smoke, soft=False)
        smoke = smoke * (1 - solid)
    pressure = None
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    speeds = []
    for step in range(warmup + frames):
        t0 = time.perf_counter()
        smoke = advect.mac_cormack(smoke, velocity, 1.0)
        if inflow is not None:
            smoke = smoke.with_values(pm.maximum(smoke.values, inflow.values))
        if solid is not None:
            smoke = smoke * (1 - solid)
        force = resample(smoke * (0, buoyancy, 0), to=velocity)
        velocity = advect.semi_lagrangian(velocity, velocity, 1.0) + force
        if jet is not None:
            velocity = velocity * (1 - jet_mask) + jet
        velocity, pressure = fluid.make_incompressible(
            velocity, obstacles, Solve("CG", 1e-3, 1e-5, x0=pressure, max_iterations=300,
                                       rank_deficiency=0, suppress=[NotConverged]))
        if step < warmup:
            continue
        t = step - warmup + 1
        d = np.asarray(smoke.values.numpy("x,y,z"), np.float32)
        v = np.asarray(velocity.at_centers().values.numpy("vector,x,y,z"), np.float32)
        speed = float(np.sqrt((v ** 2).sum(0)).max())
        speeds.append(speed)
        tmp = out / f".frame_{t:04d}.tmp.npz"
        np.savez(tmp, density=d, velocity=v)
        os.replace(tmp, out / f"frame_{t:04d}.npz")
        print(f"[phiflow] {scene} {res}^3 frame {t}/{frames}: {time.perf_counter() - t0:.1f} s, "
              f"max density {d.max():.3f}, max speed {speed:.3f} cells/frame", flush=True)
    meta = {"solver": "PhiFlow (phiflow on PyPI), numpy backend", "scene": scene,
            "description": info, "res": res, "frames": frames, "warmup_frames": warmup,
            "seed": seed, "velocity_units": "high-res cells per frame (centred)",
            "buoyancy_cells_per_frame2": buoyancy, "up_axis": "y",
            "max_speed_hr_cells_per_frame": max(speeds),
            "seconds": round(time.perf_counter() - t_start, 1)}
    try:
        import phi

        meta["phiflow_version"] = phi.__version__
    except AttributeError:
        pass
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scene", required=True, choices=SCENES)
    p.add_argument("--res", type=int, default=128, help="high-res cells per axis")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--seed", type=int, default=5100)
    p.add_argument("--out", required=True, help="folder for frame_####.npz and meta.json")
    a = p.parse_args()
    simulate(a.scene, a.res, a.frames, Path(a.out), a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
