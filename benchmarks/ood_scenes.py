"""Scene families held out of billow's training, simulated with billow's own solver, for the
out-of-family benchmark (issue 17). Benchmark-only: training uses the `random`, `obstacle` and
`jet` families of `billow.sim.scenes` with dataset seeds 0-99; these families are none of
those, and the benchmark uses seeds >= 5000.

- `dense_slow`: a large noise-textured block of smoke filling much of the domain (density up
  to 1), weak buoyancy, a gentle swirl of about 0.03 low-res cells per frame, no inflow;
- `thin_wisps`: faint sheets (density 0.05-0.2) and 2-4 small faint inflows with strong jets
  (about 1 low-res cell per frame) in random directions, strong vorticity confinement;
- `obstacle_ood`: a dense blob rising through a horizontal ring (torus), against a tilted
  plate and past a row of thin pillars: shapes the training `obstacle` family (axis-aligned
  spheres and boxes) never has, given to the solver as a voxel mask.

Velocities and buoyancy are chosen in low-res cells per frame (what the network sees), so a
family means the same motion at 32^3 and at 64^3 inputs; the scene is converted to world units
for each resolution. Initial density and velocity come from `ood_fields` (numpy).

    sc = build("dense_slow", seed=5000, hr_res=128)
    for t, (density, velocity) in enumerate(simulate(sc, 128, frames=20)): ...
"""

from __future__ import annotations

import math
import random
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ood_fields as F  # noqa: E402

FAMILIES = ("dense_slow", "thin_wisps", "obstacle_ood")


@dataclass
class OodScene:
    family: str
    seed: int
    description: str
    params: dict = field(default_factory=dict)  # everything the initial state and mask need
    warmup: int = 0  # frames simulated before the first recorded one

    def to_dict(self) -> dict:
        return asdict(self)


def build(family: str, seed: int) -> OodScene:
    """A randomised scene of `family`; all numbers drawn from `seed`."""
    rng = random.Random(seed)
    if family == "dense_slow":
        lo = (rng.uniform(0.05, 0.12), rng.uniform(0.03, 0.08), rng.uniform(0.05, 0.12))
        hi = (rng.uniform(0.88, 0.95), rng.uniform(0.55, 0.7), rng.uniform(0.88, 0.95))
        return OodScene(family, seed, "noise-textured block filling most of the domain, "
                        "density up to 1, weak buoyancy, ~0.03 low-res cells/frame", {
                            "lo": lo, "hi": hi, "base": rng.uniform(0.55, 0.7),
                            "contrast": rng.uniform(0.25, 0.35),
                            "swirl_lr": rng.uniform(0.015, 0.022),  # rms, low-res cells/frame
                            "buoyancy_lr": rng.uniform(0.0005, 0.001),  # lr cells/frame^2
                            "vorticity": 0.0})
    if family == "thin_wisps":
        sources = []
        for _ in range(rng.randint(2, 4)):
            theta = rng.uniform(0, 2 * math.pi)
            up = rng.uniform(0.3, 0.9)
            speed = rng.uniform(0.8, 1.4)  # low-res cells per frame
            d = (math.cos(theta) * math.sqrt(1 - up * up), up, math.sin(theta) *
                 math.sqrt(1 - up * up))
            sources.append({"centre": (rng.uniform(0.2, 0.8), rng.uniform(0.08, 0.3),
                                       rng.uniform(0.2, 0.8)),
                            "radius": rng.uniform(0.015, 0.03),
                            "value": rng.uniform(0.08, 0.2),
                            "jet_lr": tuple(speed * c for c in d)})
        return OodScene(family, seed, "faint sheets and small faint inflows (density "
                        "0.05-0.2) with strong jets (~1 low-res cell/frame), strong vorticity "
                        "confinement", {
                            "sources": sources, "swirl_lr": rng.uniform(0.3, 0.45),
                            "buoyancy_lr": rng.uniform(0.005, 0.015),
                            "vorticity": rng.uniform(0.12, 0.25)})
    if family == "obstacle_ood":
        cx = rng.uniform(0.4, 0.6)
        return OodScene(family, seed, "dense blob rising through a horizontal ring, against a "
                        "tilted plate and past thin pillars (voxel-mask obstacles)", {
                            "torus": {"centre": (cx, rng.uniform(0.42, 0.5), 0.5),
                                      "major": rng.uniform(0.15, 0.2),
                                      "minor": rng.uniform(0.03, 0.04)},
                            "plate": {"centre": (cx + rng.uniform(-0.1, 0.1),
                                                 rng.uniform(0.7, 0.78), 0.5),
                                      "half_size": (rng.uniform(0.18, 0.25),
                                                    rng.uniform(0.2, 0.3)),
                                      "angle": rng.choice((-1, 1)) * rng.uniform(15, 30),
                                      "thickness": 0.015},
                            "pillars": {"xs": (0.12, 0.2) if cx > 0.5 else (0.8, 0.88),
                                        "zs": (0.3, 0.45, 0.6), "radius": 0.018,
                                        "y0": 0.0, "y1": 0.6},
                            "blob": {"lo": (cx - 0.2, 0.04, 0.3), "hi": (cx + 0.2, 0.4, 0.7)},
                            "source": {"centre": (cx, 0.1, 0.5), "radius": 0.08,
                                       "value": rng.uniform(0.7, 0.9)},
                            "rise_lr": rng.uniform(0.2, 0.35),
                            "swirl_lr": 0.08,
                            "buoyancy_lr": rng.uniform(0.02, 0.035),
                            "vorticity": rng.uniform(0.05, 0.1)},
                        warmup=4)
    raise ValueError(f"unknown family '{family}' (choose {', '.join(FAMILIES)})")


def _world_per_s(lr_cells_per_frame: float, hr_res: int, factor: int, fps: float) -> float:
    return lr_cells_per_frame * factor / hr_res * fps


def billow_scene(sc: OodScene, hr_res: int, factor: int = 4, fps: float = 24.0):
    """The `billow.sim.Scene` part (sources, buoyancy, vorticity; obstacles come as voxels)."""
    from billow.sim import DensitySource, Noise, Scene, Shape, VelocitySource

    p = sc.params
    g = _world_per_s(p["buoyancy_lr"], hr_res, factor, fps) * fps  # world/s^2
    dens, vels = [], []
    if sc.family == "thin_wisps":
        for i, s in enumerate(p["sources"]):
            shape = Shape("sphere", s["centre"], (s["radius"],) * 3)
            dens.append(DensitySource(shape, s["value"], Noise(scale=0.03, octaves=3,
                                                               amount=0.6, speed=1.0,
                                                               seed=sc.seed * 10 + i)))
            jet = tuple(_world_per_s(c, hr_res, factor, fps) for c in s["jet_lr"])
            vels.append(VelocitySource(shape, jet, 0, None))
    elif sc.family == "obstacle_ood":
        s = p["source"]
        dens.append(DensitySource(Shape("sphere", s["centre"], (s["radius"],) * 3), s["value"],
                                  Noise(scale=0.05, octaves=3, amount=0.6, speed=0.6,
                                        seed=sc.seed)))
    return Scene(f"{sc.family}_{sc.seed}", dens, vels, buoyancy=(0.0, g, 0.0),
                 vorticity=p["vorticity"])


def obstacle_voxels(sc: OodScene, shape) -> np.ndarray | None:
    if sc.family != "obstacle_ood":
        return None
    p = sc.params
    t, pl, pi = p["torus"], p["plate"], p["pillars"]
    return (F.torus(shape, t["centre"], t["major"], t["minor"])
            | F.slanted_plate(shape, pl["centre"], pl["half_size"], pl["angle"],
                              pl["thickness"])
            | F.pillars(shape, pi["xs"], pi["zs"], pi["radius"], pi["y0"], pi["y1"]))


def initial_state(sc: OodScene, shape, factor: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Density (X, Y, Z) and centred velocity (3, X, Y, Z) in cells of this grid per frame."""
    p, seed = sc.params, sc.seed
    if sc.family == "dense_slow":
        d = F.dense_block(shape, seed, p["lo"], p["hi"], p["base"], p["contrast"])
        v = F.smooth_velocity(shape, seed, p["swirl_lr"] * factor)
    elif sc.family == "thin_wisps":
        d = F.wisp_sheets(shape, seed)
        v = F.smooth_velocity(shape, seed, p["swirl_lr"] * factor, largest=0.3)
    else:
        b = p["blob"]
        n = F.fractal_noise(shape, seed + 5, largest=0.15)
        d = np.clip(0.6 + 0.3 * n, 0, 1) * F.soft_box(shape, b["lo"], b["hi"], 0.05)
        v = F.smooth_velocity(shape, seed, p["swirl_lr"] * factor, largest=0.3)
        v[1] += p["rise_lr"] * factor * (d > 0.05)
    return d.astype(np.float32), v.astype(np.float32)


def _faces(vc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centred velocity (3, X, Y, Z) -> MAC faces (interior faces average their two cells)."""
    out = []
    for d in range(3):
        c = vc[d]
        inner = 0.5 * (c.narrow(d, 1, c.shape[d] - 1) + c.narrow(d, 0, c.shape[d] - 1))
        out.append(torch.cat([c.narrow(d, 0, 1), inner, c.narrow(d, c.shape[d] - 1, 1)], d)
                   .contiguous())
    return tuple(out)


def simulate(sc: OodScene, hr_res: int, frames: int, factor: int = 4, fps: float = 24.0,
             on_frame=None):
    """Yield (density (X, Y, Z), centred velocity (3, X, Y, Z) in high-res cells per frame) for
    each recorded frame, as torch tensors on the CPU."""
    from billow.sim import Domain, Solver

    scene = billow_scene(sc, hr_res, factor, fps)
    shape = (hr_res,) * 3
    solid = obstacle_voxels(sc, shape)
    solver = Solver(Domain(shape, scene.boundaries, fps), scene,
                    obstacle_voxels=None if solid is None else torch.from_numpy(solid))
    d, v = initial_state(sc, shape, factor)
    st = solver.state
    st.density = torch.from_numpy(d).contiguous()
    st.u, st.v, st.w = _faces(torch.from_numpy(v))
    solver.cells.enforce(st)
    for step in range(sc.warmup + frames):
        info = solver.advance_frame()
        if not solver.state.is_finite():
            raise RuntimeError(f"{sc.family} seed {sc.seed}: the simulation blew up at frame "
                               f"{step + 1}")
        if step >= sc.warmup:
            if on_frame is not None:
                on_frame(step - sc.warmup + 1, info)
            yield solver.density(), solver.velocity()
