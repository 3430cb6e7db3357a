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

A scene is a `Setup` (numpy fields, inflows, jets, obstacles) and `run` simulates one; the
training families of `tools/phiflow_scenes.py` (disjoint from these, see there) use the same
`Setup` and `run`, so benchmark and training data come from one PhiFlow step.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ood_fields as F

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


@dataclass
class Setup:
    """A scene as PhiFlow runs it, in numpy on the simulated grid: lengths in its cells,
    velocity in its cells per frame, [x, y, z] with y up. The benchmark scenes here and the
    training families of `tools/phiflow_scenes.py` both become one of these.

    `inflow`: a density floor (X, Y, Z) applied after each step's density advection, or a
    function of the step (0-based, warm-up included) returning one or None (no inflow then);
    `jet`: (velocity (3, X, Y, Z), mask (X, Y, Z)): where the mask is 1 the velocity is set
    to the jet's after each step's self-advection and forces (a constant pair, or a function
    of the step returning one or None); `obstacles`: ("sphere", (x, y, z), radius) or
    ("box", (x0, y0, z0), (x1, y1, z1)) in cells."""

    density: np.ndarray
    velocity: np.ndarray
    buoyancy: float  # cells per frame^2, upwards, times the density
    warmup: int = 0
    inflow: Any = None
    jet: Any = None
    obstacles: list = field(default_factory=list)
    info: str = ""


def benchmark_setup(scene: str, res: int, seed: int) -> Setup:
    """The benchmark's scenes (`SCENES`)."""
    n = res
    shape = (n, n, n)
    if scene == "phi_dense":
        return Setup(F.dense_block(shape, seed),
                     F.smooth_velocity(shape, seed, rms=0.10),  # high-res cells / frame
                     0.003, 0, info="dense noise-textured block, density up to 1, weak "
                     "buoyancy, slow")
    if scene == "phi_wisps":
        density = F.wisp_sheets(shape, seed)
        v0 = F.smooth_velocity(shape, seed, rms=1.5, largest=0.3)
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
        obstacles = [("sphere", (0.42 * n, 0.55 * n, 0.5 * n), 0.1 * n),
                     ("box", (0.58 * n, 0.72 * n, 0.3 * n), (0.82 * n, 0.76 * n, 0.7 * n))]
        return Setup(density, v0, 0.1, 4, inflow=src, jet=(jv, jm), obstacles=obstacles,
                     info="faint sheets (density 0.05-0.2), fast random flow, three small "
                     "inflows with strong jets, a sphere and a plate as obstacles")
    raise SystemExit(f"--scene {scene}: choose {', '.join(SCENES)}")


def run(setup: Setup, frames: int, out: Path, label: str) -> dict:
    """Simulate `setup` with PhiFlow and write OUT/frame_0001.npz ... (density (X, Y, Z) and
    centred velocity (3, X, Y, Z) in cells per frame, float32), each atomically, printing one
    `[phiflow] ... frame t/N` line after each. Returns {"max_speed", "seconds"}."""
    from phi import geom as pg
    from phi import math as pm
    from phi.flow import (
        ZERO_GRADIENT,
        Box,
        CenteredGrid,
        NotConverged,
        Obstacle,
        Solve,
        Sphere,
        StaggeredGrid,
        advect,
        extrapolation,
        fluid,
        resample,
    )

    _patch_phiml_int32()
    shape = setup.density.shape
    nx, ny, nz = shape
    bounds = Box(x=nx, y=ny, z=nz)  # one unit = one cell
    vel_bc = extrapolation.combine_sides(x=0, y=(0, ZERO_GRADIENT), z=0)  # open top

    def centred(arr, bc=0):
        return CenteredGrid(pm.tensor(arr, pm.spatial("x,y,z")), bc, bounds=bounds, x=nx,
                            y=ny, z=nz)

    def vector(arr):  # (3, X, Y, Z) numpy -> centred vector field
        return CenteredGrid(pm.tensor(np.moveaxis(arr, 0, -1), pm.spatial("x,y,z"),
                                      pm.channel(vector="x,y,z")), 0, bounds=bounds, x=nx,
                            y=ny, z=nz)

    def staggered(arr):
        return StaggeredGrid(vector(arr), vel_bc, bounds=bounds, x=nx, y=ny, z=nz)

    def jet_grids(pair):
        if pair is None:
            return None
        jv, jm = pair
        return staggered(jv), staggered(np.stack([jm] * 3))

    obstacles = []
    for kind, *args in setup.obstacles:
        if kind == "sphere":
            (cx, cy, cz), r = args
            obstacles.append(Obstacle(Sphere(x=cx, y=cy, z=cz, radius=r)))
        elif kind == "box":
            lo, hi = args
            obstacles.append(Obstacle(Box(x=(lo[0], hi[0]), y=(lo[1], hi[1]),
                                          z=(lo[2], hi[2]))))
        else:
            raise ValueError(f"obstacle kind {kind!r}: 'sphere' or 'box'")
    inflow = (None if setup.inflow is None or callable(setup.inflow)
              else centred(setup.inflow))
    jet = None if setup.jet is None or callable(setup.jet) else jet_grids(setup.jet)
    buoyancy = setup.buoyancy

    smoke = centred(setup.density, ZERO_GRADIENT)
    velocity = staggered(setup.velocity)
    solid = None
    if obstacles:
        solid = resample(pg.union([o.geometry for o in obstacles]), to=smoke, soft=False)
        smoke = smoke * (1 - solid)
    pressure = None
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    speeds = []
    for step in range(setup.warmup + frames):
        t0 = time.perf_counter()
        smoke = advect.mac_cormack(smoke, velocity, 1.0)
        if callable(setup.inflow):
            floor = setup.inflow(step)
            inflow = None if floor is None else centred(floor)
        if inflow is not None:
            smoke = smoke.with_values(pm.maximum(smoke.values, inflow.values))
        if solid is not None:
            smoke = smoke * (1 - solid)
        force = resample(smoke * (0, buoyancy, 0), to=velocity)
        velocity = advect.semi_lagrangian(velocity, velocity, 1.0) + force
        if callable(setup.jet):
            jet = jet_grids(setup.jet(step))
        if jet is not None:
            velocity = velocity * (1 - jet[1]) + jet[0]
        velocity, pressure = fluid.make_incompressible(
            velocity, obstacles, Solve("CG", 1e-3, 1e-5, x0=pressure, max_iterations=300,
                                       rank_deficiency=0, suppress=[NotConverged]))
        if step < setup.warmup:
            continue
        t = step - setup.warmup + 1
        d = np.asarray(smoke.values.numpy("x,y,z"), np.float32)
        v = np.asarray(velocity.at_centers().values.numpy("vector,x,y,z"), np.float32)
        speed = float(np.sqrt((v ** 2).sum(0)).max())
        speeds.append(speed)
        tmp = out / f".frame_{t:04d}.tmp.npz"
        np.savez(tmp, density=d, velocity=v)
        os.replace(tmp, out / f"frame_{t:04d}.npz")
        print(f"[phiflow] {label} frame {t}/{frames}: {time.perf_counter() - t0:.1f} s, "
              f"max density {d.max():.3f}, max speed {speed:.3f} cells/frame", flush=True)
    return {"max_speed": max(speeds) if speeds else 0.0,
            "seconds": round(time.perf_counter() - t_start, 1)}


def phiflow_version() -> str | None:
    try:
        import phi

        return phi.__version__
    except (ImportError, AttributeError):
        return None


def simulate(scene: str, res: int, frames: int, out: Path, seed: int) -> dict:
    setup = benchmark_setup(scene, res, seed)
    ran = run(setup, frames, out, f"{scene} {res}^3")
    meta = {"solver": "PhiFlow (phiflow on PyPI), numpy backend", "scene": scene,
            "description": setup.info, "res": res, "frames": frames,
            "warmup_frames": setup.warmup, "seed": seed,
            "velocity_units": "high-res cells per frame (centred)",
            "buoyancy_cells_per_frame2": setup.buoyancy, "up_axis": "y",
            "max_speed_hr_cells_per_frame": ran["max_speed"], "seconds": ran["seconds"]}
    if phiflow_version() is not None:
        meta["phiflow_version"] = phiflow_version()
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
