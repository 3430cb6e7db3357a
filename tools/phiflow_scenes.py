"""Randomised PhiFlow scene families for TRAINING data (issue 17): the third-party solver's smoke
that `tools/phiflow_dataset.py` turns into a `billow dataset` folder.

Two halves, one file:
- `draw(family, seed)`: the scene's parameters, a JSON-able dict, drawn with
  `random.Random` (the same numbers in any Python); pure Python, importable from billow's side;
- `setup(params, res, factor, grid)` and the command line: the scene's initial fields,
  inflows, jets and obstacles as a `benchmarks/ood_phiflow.Setup`, simulated by that module's
  `run` (PhiFlow's MacCormack density advection, semi-Lagrangian self-advection, Boussinesq
  buoyancy, CG pressure solve with `Obstacle`s; walls on the sides and floor, open top,
  dt = 1 frame). This half runs in PhiFlow's own Python (numpy only, no torch, no billow):

    /work/phiflow-venv/bin/python tools/phiflow_scenes.py --params scene.json --res 96 \
        --factor 4 --grid hr --frames 60 --out RAW_DIR

  writes RAW_DIR/frame_0001.npz ... (density (X, Y, Z), centred velocity (3, X, Y, Z) in
  cells of the simulated grid per frame, float32) and RAW_DIR/meta.json at the end.

Speeds and buoyancy are drawn in LOW-RES cells per frame (what the network sees), lengths in
world units (the domain is the unit cube). The fields are built on the high-res grid; the
`--grid lr` run (an independent low-res simulation, `lr_sim_*`) box-averages them by the factor
and divides velocities, buoyancy and obstacle sizes by it, so both runs start from the same
scene.

Families:
- `plumes`: 2-4 noise-textured inflows of several shapes (ball, box, flat disc, ellipsoid,
  bar) low in the domain, each with its own density (0.25-1), texture contrast and evolving
  noise (the texture changes smoothly from frame to frame, it does not slide), some switched
  on late or off early, some with a jet (0.1-0.8 low-res cells/frame, mostly upwards), most
  with a textured stem already risen above them (0.12-0.4 high, with an updraft) so that the
  first frames are not empty; buoyancy 0.005-0.03 low-res cells/frame^2, a weak random
  initial flow, 0-6 warm-up frames;
- `blobs`: 2-6 dense noise-textured ellipsoids of varying size (radii 0.06-0.25) and amplitude
  (0.1-1, some saturated at 1), each with its own texture, stirred by a smooth random flow
  (0.02-0.4 low-res cells/frame rms) plus 1-3 local swirls about random axes; no inflow,
  weak or no buoyancy;
- `puffs`: 2-5 noise-textured buoyant puffs (radius 0.07-0.16) released near the floor (one
  re-emitted for a while in most scenes), rising past 1-3 obstacles (spheres, blocks,
  horizontal bars) placed in their way, optionally blown sideways by a crosswind; buoyancy
  0.005-0.04 low-res cells/frame^2;
- `mixed`: the three in turn (sim i of a data set gets `blobs`, `plumes`, `puffs` for
  i mod 3 = 0, 1, 2), each randomised by its seed.

Why these are disjoint from the out-of-family benchmark (`benchmarks/ood_phiflow.py`,
`benchmarks/ood_benchmark.py`): the benchmark's PhiFlow scenes are `phi_dense` (ONE
noise-textured block spanning 0.08-0.92 of the domain across and 0.04-0.62 up, base 0.6,
contrast 0.3, no inflow, 0.003 buoyancy) and `phi_wisps` (faint wisp SHEETS 0.05-0.2 from
`ood_fields.wisp_sheets`, fast random flow of 1.5 cells/frame rms, three fixed small inflows
with fixed jets, a sphere and a plate at fixed places); its billow-solver scenes are
`ood_scenes.py`'s block, sheets, torus/tilted plate/pillars. None of these generators is used
here (no `dense_block`, no `wisp_sheets`, no torus, tilted plate or pillars; no fixed
positions), and every field here comes from noise seeds drawn >= 10^6 while the benchmark's
noise seeds are 5000-5004 and 5100 plus offsets up to 303; `check_seed` refuses scene seeds in
`BENCHMARK_SEEDS` (5000-5999) so that no training scene shares a seed with a benchmark set.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(_BENCH))
import ood_fields as F

FAMILIES = ("blobs", "plumes", "puffs", "mixed")
# every seed the out-of-family benchmark's sets use (5000-5004 billow, 5100 PhiFlow) and
# their noise offsets (up to +303): training scene seeds stay out of this range
BENCHMARK_SEEDS = range(5000, 6000)
_SALT = "billow-phiflow-train/1"
INFLOW_SHAPES = ("ball", "box", "disc", "ellipsoid", "bar")
OBSTACLE_SHAPES = ("sphere", "block", "bar")


def check_seed(seed: int) -> None:
    if seed in BENCHMARK_SEEDS:
        raise ValueError(f"scene seed {seed} lies in the out-of-family benchmark's seeds "
                         f"{BENCHMARK_SEEDS.start}-{BENCHMARK_SEEDS.stop - 1}")


# ------------------------------------------------------------------------------------------
# parameters (pure Python)


def _noise(rng: random.Random, largest=(0.05, 0.25), beta=(3.0, 4.5)) -> dict:
    return {"seed": rng.randrange(10 ** 6, 2 ** 31), "largest": rng.uniform(*largest),
            "beta": rng.uniform(*beta)}


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _unit(rng: random.Random, min_y: float = -1.0) -> list[float]:
    while True:
        v = [rng.gauss(0, 1) for _ in range(3)]
        n = math.sqrt(sum(c * c for c in v))
        if n > 1e-6 and v[1] / n >= min_y:
            return [c / n for c in v]


def _flow(rng: random.Random, rms: tuple[float, float], largest=(0.25, 0.6)) -> dict:
    return {"rms": _log_uniform(rng, *rms), "largest": rng.uniform(*largest),
            "seed": rng.randrange(10 ** 6, 2 ** 31)}


def _plumes(rng: random.Random) -> dict:
    inflows, blobs, lifts = [], [], []
    for _ in range(rng.randint(2, 4)):
        kind = rng.choice(INFLOW_SHAPES)
        size = rng.uniform(0.05, 0.15)
        if kind == "ball":
            half = [size] * 3
        elif kind == "disc":
            half = [size, rng.uniform(0.01, 0.025), size]
        elif kind == "bar":
            long, thin = rng.uniform(0.12, 0.3), rng.uniform(0.012, 0.03)
            half = [long, thin, thin] if rng.random() < 0.5 else [thin, thin, long]
        else:  # box, ellipsoid
            half = [rng.uniform(0.05, 0.15) for _ in range(3)]
        start = 0 if rng.random() < 0.7 else rng.randint(1, 10)
        end = None if rng.random() < 0.75 else start + rng.randint(10, 40)
        centre = [rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.3), rng.uniform(0.2, 0.8)]
        value, contrast = rng.uniform(0.25, 1.0), rng.uniform(0.2, 0.8)
        if start == 0 and rng.random() < 0.85:  # the plume has already risen a little
            h = rng.uniform(0.12, 0.4)
            spread = rng.uniform(1.0, 2.0)
            stem = {"centre": [centre[0], centre[1] + h, centre[2]],
                    "radii": [max(half[0], 0.03) * spread, h, max(half[2], 0.03) * spread],
                    "amplitude": value * rng.uniform(0.5, 1.0), "base": 0.5,
                    "contrast": rng.uniform(0.3, 0.7), "noise": _noise(rng)}
            blobs.append(stem)
            lifts.append({"centre": stem["centre"], "radii": stem["radii"],
                          "speed": rng.uniform(0.05, 0.4)})  # low-res cells / frame, upwards
        jet = None
        if rng.random() < 0.5:  # low-res cells / frame, mostly upwards
            speed = rng.uniform(0.1, 0.8)
            jet = [c * speed for c in _unit(rng, min_y=0.2)]
        inflows.append({
            "shape": kind, "centre": centre, "half_size": half, "value": value,
            "contrast": contrast, "noise": _noise(rng), "noise_b": _noise(rng),
            "evolve": rng.uniform(0.03, 0.3),  # rad / frame
            "start": start, "end": end, "jet": jet})
    return {"description": "noise-textured plumes from inflows of several shapes",
            "inflows": inflows, "buoyancy": _log_uniform(rng, 0.005, 0.03),
            "flow": _flow(rng, (0.01, 0.15)), "swirls": [], "blobs": blobs, "lifts": lifts,
            "obstacles": [], "wind": [0.0, 0.0, 0.0], "warmup": rng.randint(0, 6)}


def _blobs(rng: random.Random) -> dict:
    blobs = []
    for _ in range(rng.randint(2, 6)):
        amplitude = _log_uniform(rng, 0.1, 1.0)
        if rng.random() < 0.25:
            amplitude = rng.uniform(1.0, 1.6)  # saturated: clipped to 1 in the dense parts
        blobs.append({"centre": [rng.uniform(0.2, 0.8), rng.uniform(0.15, 0.7),
                                 rng.uniform(0.2, 0.8)],
                      "radii": [rng.uniform(0.06, 0.25) for _ in range(3)],
                      "amplitude": amplitude, "base": rng.uniform(0.3, 0.8),
                      "contrast": rng.uniform(0.2, 0.6), "noise": _noise(rng)})
    swirls = []
    for _ in range(rng.randint(1, 3)):
        b = rng.choice(blobs)
        swirls.append({"centre": [c + rng.uniform(-0.08, 0.08) for c in b["centre"]],
                       "axis": _unit(rng), "radius": rng.uniform(0.1, 0.3),
                       "speed": rng.uniform(0.1, 0.6)})  # low-res cells / frame
    return {"description": "dense noise-textured blobs of varying size and amplitude, "
            "swirling flow", "inflows": [], "blobs": blobs, "swirls": swirls, "lifts": [],
            "buoyancy": 0.0 if rng.random() < 0.5 else _log_uniform(rng, 0.001, 0.01),
            "flow": _flow(rng, (0.02, 0.4), (0.15, 0.5)), "obstacles": [],
            "wind": [0.0, 0.0, 0.0], "warmup": 0}


def _puffs(rng: random.Random) -> dict:
    blobs, inflows = [], []
    for _ in range(rng.randint(2, 5)):
        r = rng.uniform(0.07, 0.16)
        centre = [rng.uniform(0.25, 0.75), rng.uniform(0.06, 0.12) + r, rng.uniform(0.25, 0.75)]
        blobs.append({"centre": centre, "radii": [r * rng.uniform(0.8, 1.25) for _ in range(3)],
                      "amplitude": rng.uniform(0.3, 1.0), "base": rng.uniform(0.4, 0.8),
                      "contrast": rng.uniform(0.2, 0.6), "noise": _noise(rng)})
    if rng.random() < 0.7:  # one puff keeps emitting for a while
        b = rng.choice(blobs)
        start = rng.randint(0, 5)
        inflows.append({"shape": "ball", "centre": list(b["centre"]),
                        "half_size": [0.7 * min(b["radii"])] * 3,
                        "value": b["amplitude"], "contrast": b["contrast"],
                        "noise": _noise(rng), "noise_b": _noise(rng),
                        "evolve": rng.uniform(0.05, 0.3), "start": start,
                        "end": start + rng.randint(10, 40), "jet": None})
    obstacles = []
    for _ in range(rng.randint(1, 3)):
        b = rng.choice(blobs)
        kind = rng.choice(OBSTACLE_SHAPES)
        cx = min(0.85, max(0.15, b["centre"][0] + rng.uniform(-0.15, 0.15)))
        cz = min(0.85, max(0.15, b["centre"][2] + rng.uniform(-0.15, 0.15)))
        cy = rng.uniform(0.38, 0.75)
        if kind == "sphere":
            half = [rng.uniform(0.06, 0.15)] * 3
        elif kind == "block":
            half = [rng.uniform(0.04, 0.12) for _ in range(3)]
        else:
            long, thin = rng.uniform(0.2, 0.45), rng.uniform(0.015, 0.03)
            half = [long, thin, thin] if rng.random() < 0.5 else [thin, thin, long]
        obstacles.append({"shape": kind, "centre": [cx, cy, cz], "half_size": half})
    wind = [0.0, 0.0, 0.0]
    if rng.random() < 0.5:
        a, s = rng.uniform(0, 2 * math.pi), rng.uniform(0.05, 0.3)
        wind = [s * math.cos(a), 0.0, s * math.sin(a)]
    return {"description": "buoyant noise-textured puffs rising past obstacles",
            "inflows": inflows, "blobs": blobs, "swirls": [], "lifts": [], "obstacles": obstacles,
            "buoyancy": _log_uniform(rng, 0.005, 0.04), "flow": _flow(rng, (0.01, 0.1)),
            "wind": wind, "warmup": 0}


def draw(family: str, seed: int, index: int | None = None) -> dict:
    """The parameters of a randomised training scene of `family`, all drawn from `seed`.
    `mixed` with the sim's `index`: the three families in turn (balanced in any data set);
    without: one drawn from the seed."""
    if family not in FAMILIES:
        raise ValueError(f"family {family!r}: choose {', '.join(FAMILIES)}")
    check_seed(seed)
    rng = random.Random(f"{_SALT}:{family}:{seed}")
    pick = rng.choice(FAMILIES[:-1])
    kind = family if family != "mixed" else pick if index is None else FAMILIES[index % 3]
    params = {"plumes": _plumes, "blobs": _blobs, "puffs": _puffs}[kind](rng)
    return {"solver": "phiflow", "family": kind, "drawn_from": family, "seed": seed,
            "units": {"lengths": "world (domain = unit cube, y up)",
                      "speeds": "low-res cells per frame",
                      "buoyancy": "low-res cells per frame^2 per unit density"},
            **params}


# ------------------------------------------------------------------------------------------
# fields (numpy)


def _texture(shape, spec: dict) -> np.ndarray:
    return F.fractal_noise(shape, spec["seed"], beta=spec["beta"], largest=spec["largest"])


def _ellipsoid(shape, centre, radii, soft: float = 0.15) -> np.ndarray:
    """1 inside, a smooth ramp over `soft` of the radius at the surface, 0 outside."""
    x, y, z = F.coords(shape)
    r = np.sqrt(((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2
                + ((z - centre[2]) / radii[2]) ** 2)
    return (1.0 - F.smoothstep(1.0 - soft, 1.0 + soft, r)).astype(np.float32)


def _shape_mask(shape, kind: str, centre, half) -> np.ndarray:
    if kind in ("ball", "ellipsoid"):
        return _ellipsoid(shape, centre, half)
    if kind == "disc":  # flat cylinder, axis y
        x, y, z = F.coords(shape)
        r = np.sqrt((x - centre[0]) ** 2 + (z - centre[2]) ** 2) / half[0]
        h = np.abs(y - centre[1]) / half[1]
        return ((1.0 - F.smoothstep(0.85, 1.15, r)) * (1.0 - F.smoothstep(0.7, 1.3, h))
                ).astype(np.float32)
    soft = 0.3 * min(half)
    return F.soft_box(shape, [c - h for c, h in zip(centre, half)],
                      [c + h for c, h in zip(centre, half)], soft)


def _swirl(shape, centre, axis, radius: float, speed: float) -> np.ndarray:
    """(3, X, Y, Z) rotation about `axis` through `centre`, Gaussian falloff of `radius`,
    peak tangential speed about `speed` (same units as the result)."""
    x, y, z = F.coords(shape)
    r = [np.broadcast_to(c - c0, shape) for c, c0 in zip((x, y, z), centre)]
    a = np.asarray(axis, np.float32)
    cross = np.stack([a[1] * r[2] - a[2] * r[1], a[2] * r[0] - a[0] * r[2],
                      a[0] * r[1] - a[1] * r[0]])
    d2 = (cross ** 2).sum(0)  # squared distance from the axis
    w = np.exp(-d2 / radius ** 2 - sum(c * c for c in r) / (2 * radius) ** 2)
    # |omega x r| e^{-r^2/R^2} peaks at r = R / sqrt(2): scale that peak to `speed`
    peak = (radius / math.sqrt(2)) * math.exp(-0.5)
    return (cross * w * (speed / peak)).astype(np.float32)


def _pool(a: np.ndarray, f: int) -> np.ndarray:
    """Box average of the last three axes by `f`."""
    if f == 1:
        return a
    *lead, nx, ny, nz = a.shape
    return a.reshape(*lead, nx // f, f, ny // f, f, nz // f, f).mean(axis=(-5, -3, -1)).astype(
        np.float32)


def setup(params: dict, res: int, factor: int, grid: str = "hr"):
    """The `ood_phiflow.Setup` of a drawn scene on the high-res grid (res^3, `grid` "hr") or
    the low-res one ((res / factor)^3, "lr": the high-res fields box-averaged)."""
    import ood_phiflow

    if res % factor:
        raise ValueError(f"factor {factor} does not divide res {res}")
    shape = (res,) * 3
    per = factor if grid == "hr" else 1  # simulated-grid cells per low-res cell
    down = 1 if grid == "hr" else factor  # pooling from the high-res build
    if grid not in ("hr", "lr"):
        raise ValueError(f"grid {grid!r}: 'hr' or 'lr'")

    density = np.zeros(shape, np.float32)
    for b in params["blobs"]:
        tex = np.clip(b["base"] + b["contrast"] * _texture(shape, b["noise"]), 0.0, 1.0)
        density = np.maximum(density, b["amplitude"] * tex * _ellipsoid(shape, b["centre"],
                                                                       b["radii"]))
    density = np.clip(density, 0.0, 1.0)
    fl = params["flow"]
    v = F.smooth_velocity(shape, fl["seed"], rms=fl["rms"], largest=fl["largest"])
    for s in params["swirls"]:
        v += _swirl(shape, s["centre"], s["axis"], s["radius"], s["speed"])
    for lift in params["lifts"]:
        v[1] += lift["speed"] * _ellipsoid(shape, lift["centre"], lift["radii"], soft=0.4)
    v += np.asarray(params["wind"], np.float32)[:, None, None, None]
    v *= per  # low-res cells / frame -> simulated cells / frame

    sources = []
    for src in params["inflows"]:
        mask = _shape_mask(shape, src["shape"], src["centre"], src["half_size"])
        sources.append((src, mask, _texture(shape, src["noise"]),
                        _texture(shape, src["noise_b"])))
    jets = [(src, mask) for src, mask, _, _ in sources if src["jet"] is not None]

    def active(src, step):
        return step >= src["start"] and (src["end"] is None or step < src["end"])

    def inflow(step):
        floor = None
        for src, mask, n1, n2 in sources:
            if not active(src, step):
                continue
            ang = src["evolve"] * step  # unit-variance noise that changes smoothly in time
            n = math.cos(ang) * n1 + math.sin(ang) * n2
            tex = np.clip(1.0 - src["contrast"] + src["contrast"] * (0.5 + 0.5 * n), 0.0, 1.0)
            d = (src["value"] * tex * mask).astype(np.float32)
            floor = d if floor is None else np.maximum(floor, d)
        return None if floor is None else _pool(floor, down)

    def jet(step):
        on = [(src, mask) for src, mask in jets if active(src, step)]
        if not on:
            return None
        jv = np.zeros((3,) + shape, np.float32)
        jm = np.zeros(shape, np.float32)
        for src, mask in on:
            m = (mask > 0.5).astype(np.float32)
            jm = np.maximum(jm, m)
            jv += m[None] * (np.asarray(src["jet"], np.float32) * per)[:, None, None, None]
        return _pool(jv, down), _pool(jm, down)

    n = res // down  # simulated cells per axis
    obstacles = []
    for o in params["obstacles"]:
        c = [x * n for x in o["centre"]]
        h = [x * n for x in o["half_size"]]
        if o["shape"] == "sphere":
            obstacles.append(("sphere", tuple(c), h[0]))
        else:
            obstacles.append(("box", tuple(a - b for a, b in zip(c, h)),
                              tuple(a + b for a, b in zip(c, h))))
    return ood_phiflow.Setup(
        _pool(density, down), _pool(v, down), params["buoyancy"] * per, params["warmup"],
        inflow=inflow if sources else None, jet=jet if jets else None, obstacles=obstacles,
        info=params["description"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Simulate one drawn training scene with PhiFlow "
                                "(run by tools/phiflow_dataset.py in PhiFlow's Python).")
    p.add_argument("--params", required=True, help="the scene's parameters (JSON of `draw`)")
    p.add_argument("--res", type=int, required=True, help="high-res cells per axis")
    p.add_argument("--factor", type=int, default=4, help="high-res cells per low-res cell")
    p.add_argument("--grid", choices=("hr", "lr"), default="hr",
                   help="simulate at high resolution, or the same scene at res / factor")
    p.add_argument("--frames", type=int, required=True)
    p.add_argument("--out", required=True, help="folder for frame_####.npz and meta.json")
    a = p.parse_args(argv)
    import ood_phiflow

    params = json.loads(Path(a.params).read_text())
    out = Path(a.out)
    t0 = time.perf_counter()
    s = setup(params, a.res, a.factor, a.grid)
    n = a.res if a.grid == "hr" else a.res // a.factor
    ran = ood_phiflow.run(s, a.frames, out, f"{params['family']} {n}^3 ({a.grid})")
    meta = {"solver": "PhiFlow (phiflow on PyPI), numpy backend",
            "phiflow_version": ood_phiflow.phiflow_version(), "grid": a.grid, "res": n,
            "frames": a.frames, "warmup_frames": s.warmup,
            "velocity_units": "cells of the simulated grid per frame (centred)",
            "max_speed_cells_per_frame": ran["max_speed"],
            "seconds": round(time.perf_counter() - t0, 1), "params": params}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
