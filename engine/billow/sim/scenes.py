"""Scenes: presets for `billow sim` (plume, jet, obstacle) and the randomised scenes of the
training data (dissertation Sec. 3.4.1: noise density inflows, 1-5 velocity sources, random
buoyancy including none).

A scene is plain data in world units (domain largest axis = 1, y up, seconds), serialisable
to JSON (`to_dict` / `from_dict`) so the dataset manifest records exactly what was simulated.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field

from ..errors import InputError
from .sources import DensitySource, Noise, Shape, VelocitySource

PRESETS = ("plume", "jet", "obstacle")
FAMILIES = ("random", "obstacle", "jet", "mixed")  # randomised families of `billow dataset --scenes`


@dataclass
class Scene:
    name: str
    density_sources: list[DensitySource] = field(default_factory=list)
    velocity_sources: list[VelocitySource] = field(default_factory=list)
    obstacles: list[Shape] = field(default_factory=list)
    buoyancy: tuple[float, float, float] = (0.0, 0.5, 0.0)  # world/s^2 per unit density
    vorticity: float = 0.0  # confinement strength (cell units)
    boundaries: str = "wall wall open open wall wall"  # x- x+ y- y+ z- z+

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Scene:
        def noise(n):
            return None if n is None else Noise(**n)

        return cls(
            name=d["name"],
            density_sources=[DensitySource(Shape(**s["shape"]), s["value"], noise(s["noise"]),
                                           s["start"], s["end"]) for s in d["density_sources"]],
            velocity_sources=[VelocitySource(Shape(**s["shape"]), tuple(s["velocity"]),
                                             s["start"], s["end"])
                              for s in d["velocity_sources"]],
            obstacles=[Shape(**s) for s in d["obstacles"]],
            buoyancy=tuple(d["buoyancy"]), vorticity=d["vorticity"],
            boundaries=d["boundaries"])


def preset(name: str, dim: int = 3, seed: int = 0) -> Scene:
    """A named scene in a unit cube (square in 2D); `seed` varies its noise."""
    zc = 0.5
    noise = Noise(seed=seed)
    if name == "plume":
        src = DensitySource(Shape("sphere", (0.5, 0.12, zc), (0.08,) * 3), noise=noise)
        return Scene("plume", [src], buoyancy=(0.0, 1.0, 0.0), vorticity=0.05)
    if name == "jet":
        src = DensitySource(Shape("box", (0.08, 0.3, zc), (0.04, 0.06, 0.06)), noise=noise)
        jet = VelocitySource(Shape("box", (0.08, 0.3, zc), (0.04, 0.06, 0.06)), (0.6, 0.15, 0.0))
        return Scene("jet", [src], [jet], buoyancy=(0.0, 0.15, 0.0), vorticity=0.05,
                     boundaries="wall open open open wall wall")
    if name == "obstacle":
        src = DensitySource(Shape("sphere", (0.5, 0.1, zc), (0.09,) * 3), noise=noise)
        ball = Shape("sphere", (0.45, 0.45, zc), (0.12,) * 3)
        return Scene("obstacle", [src], obstacles=[ball], buoyancy=(0.0, 1.0, 0.0),
                     vorticity=0.05)
    raise InputError(f"unknown preset '{name}' (choose {', '.join(PRESETS)})")


def random_scene(seed: int, dim: int = 3, family: str = "random") -> Scene:
    """A randomised training scene, as the reference generator builds them: 1-3 noise density
    inflows near the floor, 1-5 velocity sources active for random spans of the run, random
    buoyancy (a quarter of the scenes have none), open top and bottom.

    Other families, for fine-tuning on a scene type the model has not seen (ch. 4):
    `obstacle` adds 1-3 solid spheres/boxes above the inflows with buoyancy always on;
    `jet` replaces buoyancy-driven rise by one strong, long-lived sideways jet per inflow.
    """
    if family not in FAMILIES:
        raise InputError(f"unknown scene family '{family}' (choose {', '.join(FAMILIES)})")
    if family == "mixed":
        return mixed_scene(seed, dim)
    rng = random.Random(seed)

    def pos(lo=0.15, hi=0.85):
        c = [rng.uniform(lo, hi) for _ in range(3)]
        if dim == 2:
            c[2] = 0.5
        return tuple(c)

    dens = []
    for i in range(rng.randint(1, 3)):
        c = list(pos())
        c[1] = rng.uniform(0.08, 0.4)
        kind = rng.choice(("sphere", "box"))
        size = tuple(rng.uniform(0.04, 0.12) for _ in range(3))
        if kind == "sphere":
            size = (size[0],) * 3
        noise = Noise(scale=rng.uniform(0.03, 0.1), octaves=3, amount=rng.uniform(0.3, 0.9),
                      speed=rng.uniform(0.2, 1.0), seed=rng.randrange(2 ** 31))
        dens.append(DensitySource(Shape(kind, tuple(c), size), rng.uniform(0.7, 1.0), noise))
    vels = []
    for i in range(rng.randint(1, 5)):
        speed = rng.uniform(0.1, 0.6)
        theta = rng.uniform(0, 2 * math.pi)
        phi = rng.uniform(-0.5 * math.pi, 0.5 * math.pi) if dim == 3 else 0.0
        v = (speed * math.cos(theta) * math.cos(phi), speed * math.sin(theta) * math.cos(phi),
             speed * math.sin(phi))
        r = rng.uniform(0.04, 0.1)
        start = rng.randrange(0, 30)
        vels.append(VelocitySource(Shape("sphere", pos(), (r,) * 3), v, start,
                                   start + rng.randrange(5, 60)))
    if rng.random() < 0.25:
        buoy = (0.0, 0.0, 0.0)
    else:
        g = rng.uniform(0.1, 0.8)
        tilt = rng.uniform(-0.2, 0.2)
        buoy = (g * tilt, g, 0.0)
    vort = rng.choice((0.0, rng.uniform(0.02, 0.1)))
    if family == "random":
        return Scene(f"random_{seed}", dens, vels, buoyancy=buoy, vorticity=vort)
    if family == "jet":
        # A jet per inflow, from its side, on for the whole run; weak buoyancy.
        jets = []
        for d in dens:
            sign = rng.choice((-1.0, 1.0))
            speed = rng.uniform(0.5, 0.9)
            jets.append(VelocitySource(Shape("box", d.shape.centre, d.shape.size),
                                       (sign * speed, rng.uniform(0.0, 0.2), 0.0), 0, 10 ** 6))
        return Scene(f"jet_{seed}", dens, jets, buoyancy=(0.0, rng.uniform(0.0, 0.2), 0.0),
                     vorticity=vort)
    obstacles = []
    for _ in range(rng.randint(1, 3)):
        c = list(pos(0.2, 0.8))
        c[1] = rng.uniform(0.45, 0.8)
        kind = rng.choice(("sphere", "box"))
        size = tuple(rng.uniform(0.06, 0.15) for _ in range(3))
        obstacles.append(Shape(kind, tuple(c), (size[0],) * 3 if kind == "sphere" else size))
    return Scene(f"obstacle_{seed}", dens, vels, obstacles=obstacles,
                 buoyancy=(buoy[0], max(buoy[1], 0.3), 0.0), vorticity=vort)


def mixed_scene(seed: int, dim: int = 3) -> Scene:
    """The broad training family (issue 17): each seed draws one of the reference scene
    (`random`, Sec. 3.4.1), `obstacle`, `jet`, or a `broad` scene whose parameters span what
    production caches hold and the reference generator never made: inflow density from thin
    (0.05) to saturated (1, log-uniform), large initial fills that then drift almost still,
    inflows from small wisps to a quarter of the domain, velocity sources from near-still to
    fast (up to ~1.5 world/s, about 1.5 low-res cells per frame at 96^3 and 24 fps), buoyancy
    on or off, obstacles in 40% of the scenes. A model trained on one family learns that
    family's amplitudes and speeds; this one is meant to make amplitude and speed irrelevant."""
    rng = random.Random(seed * 31 + 5)
    kind = rng.choices(("random", "obstacle", "jet", "broad"), weights=(3, 2, 1, 4))[0]
    if kind != "broad":
        scene = random_scene(seed, dim, kind)
        scale = math.exp(rng.uniform(math.log(0.05), 0.0))  # density amplitude
        for d in scene.density_sources:
            d.value *= scale
        scene.name = f"mixed_{kind}_{seed}"
        return scene

    def pos(lo=0.15, hi=0.85):
        c = [rng.uniform(lo, hi) for _ in range(3)]
        if dim == 2:
            c[2] = 0.5
        return c

    value = math.exp(rng.uniform(math.log(0.05), 0.0))
    dens = []
    if rng.random() < 0.5:  # a large fill at the start, left to drift (dense slow smoke)
        c = pos(0.35, 0.65)
        c[1] = rng.uniform(0.25, 0.5)
        half = tuple(rng.uniform(0.12, 0.3) for _ in range(3))
        noise = Noise(scale=rng.uniform(0.02, 0.12), octaves=rng.randint(2, 4),
                      amount=rng.uniform(0.2, 1.0), speed=rng.uniform(0.0, 0.5),
                      seed=rng.randrange(2 ** 31))
        dens.append(DensitySource(Shape(rng.choice(("sphere", "box")), tuple(c), half),
                                  value, noise, 0, rng.randint(1, 6)))
    for _ in range(rng.randint(0 if dens else 1, 3)):
        c = pos()
        c[1] = rng.uniform(0.05, 0.5)
        r = math.exp(rng.uniform(math.log(0.02), math.log(0.15)))
        kind_s = rng.choice(("sphere", "box"))
        size = (r,) * 3 if kind_s == "sphere" else tuple(r * rng.uniform(0.5, 1.5)
                                                          for _ in range(3))
        noise = Noise(scale=rng.uniform(0.02, 0.12), octaves=rng.randint(1, 4),
                      amount=rng.uniform(0.0, 1.0), speed=rng.uniform(0.0, 1.5),
                      seed=rng.randrange(2 ** 31))
        start = rng.randrange(0, 10)
        end = None if rng.random() < 0.7 else start + rng.randrange(3, 40)
        dens.append(DensitySource(Shape(kind_s, tuple(c), size),
                                  value * rng.uniform(0.5, 1.0), noise, start, end))
    speed_scale = math.exp(rng.uniform(math.log(0.02), math.log(1.5)))
    vels = []
    for _ in range(rng.randint(0, 5)):
        theta = rng.uniform(0, 2 * math.pi)
        phi = rng.uniform(-0.5 * math.pi, 0.5 * math.pi) if dim == 3 else 0.0
        sp = speed_scale * rng.uniform(0.3, 1.0)
        v = (sp * math.cos(theta) * math.cos(phi), sp * math.sin(theta) * math.cos(phi),
             sp * math.sin(phi))
        r = rng.uniform(0.03, 0.12)
        start = rng.randrange(0, 30)
        vels.append(VelocitySource(Shape("sphere", tuple(pos()), (r,) * 3), v, start,
                                   start + rng.randrange(3, 60)))
    if rng.random() < 0.3:
        buoy = (0.0, 0.0, 0.0)
    else:
        g = math.exp(rng.uniform(math.log(0.02), math.log(1.0)))
        buoy = (g * rng.uniform(-0.3, 0.3), g, 0.0)
    obstacles = []
    if rng.random() < 0.4:
        for _ in range(rng.randint(1, 3)):
            c = pos(0.15, 0.85)
            c[1] = rng.uniform(0.3, 0.85)
            k = rng.choice(("sphere", "box"))
            size = tuple(rng.uniform(0.04, 0.18) for _ in range(3))
            obstacles.append(Shape(k, tuple(c), (size[0],) * 3 if k == "sphere" else size))
    vort = rng.choice((0.0, rng.uniform(0.02, 0.15)))
    sides = rng.choice(("wall wall open open wall wall", "open open open open open open",
                        "wall wall wall open wall wall"))
    return Scene(f"mixed_broad_{seed}", dens, vels, obstacles=obstacles, buoyancy=buoy,
                 vorticity=vort, boundaries=sides)
