"""Shapes, inflow sources and obstacles, described in world units so that one scene can be
simulated at any resolution (the high-res run and an independent low-res run of the same
scene see the same sources).

World frame: the domain spans [0, extent] with its largest axis 1 world unit long; y is up.
Density inflows fill a sphere or box with band-limited, animated value noise (a cheap stand-in
for the wavelet noise of the reference generator); velocity sources set the face velocities
inside their shape. Both are active from frame `start` to `end` (exclusive; None: forever), so a
one-shot puff is `end = start + 1`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

from ..errors import InputError
from .grid import Domain

SHAPES = ("sphere", "box")


@dataclass
class Shape:
    """A sphere (size = radius) or an axis-aligned box (size = half extents), world units."""

    kind: str
    centre: tuple[float, float, float]
    size: tuple[float, float, float]

    def __post_init__(self):
        if self.kind not in SHAPES:
            raise InputError(f"shape '{self.kind}': choose {' or '.join(SHAPES)}")
        self.centre = tuple(float(c) for c in self.centre)
        size = self.size if isinstance(self.size, (tuple, list)) else (self.size,) * 3
        self.size = tuple(float(s) for s in size)
        if any(s <= 0 for s in self.size):
            raise InputError(f"shape size {self.size} must be positive")

    def inside(self, pos: torch.Tensor, dim: int) -> torch.Tensor:
        """Which world positions (..., 3) lie in the shape (z ignored in 2D)."""
        axes = range(dim)
        rel = [(pos[..., a] - self.centre[a]) / self.size[a] for a in axes]
        if self.kind == "sphere":
            return sum(r * r for r in rel) <= 1.0
        return torch.stack([r.abs() <= 1.0 for r in rel]).all(0)


@dataclass
class Noise:
    """Value noise on a periodic lattice: `scale` world units per lattice cell of the first
    octave, `octaves` halving it, `amount` 0..1 how much it modulates the inflow, `speed`
    lattice cells per second it scrolls upwards."""

    scale: float = 0.05
    octaves: int = 3
    amount: float = 0.6
    speed: float = 0.5
    seed: int = 0

    def sample(self, pos: torch.Tensor, time_s: float) -> torch.Tensor:
        size = 32
        g = torch.Generator().manual_seed(int(self.seed) & 0x7FFFFFFF)
        table = torch.rand((size, size, size), generator=g, dtype=torch.float64)
        total = torch.zeros(pos.shape[:-1], dtype=torch.float64)
        norm = 0.0
        for o in range(self.octaves):
            p = pos / (self.scale / 2 ** o)
            p = p + torch.tensor([0.0, -self.speed * time_s, 0.0], dtype=p.dtype) + 7.31 * o
            i0 = torch.floor(p)
            f = p - i0
            f = f * f * (3 - 2 * f)  # smoothstep
            i0 = i0.long()
            acc = torch.zeros_like(total)
            for corner in range(8):
                bits = [(corner >> a) & 1 for a in range(3)]
                idx = [(i0[..., a] + bits[a]) % size for a in range(3)]
                wgt = math.prod(f[..., a] if bits[a] else 1 - f[..., a] for a in range(3))
                acc += wgt * table[idx[0], idx[1], idx[2]]
            total += acc * 0.5 ** o
            norm += 0.5 ** o
        return total / norm


@dataclass
class DensitySource:
    shape: Shape
    value: float = 1.0
    noise: Noise | None = field(default_factory=Noise)
    start: int = 0
    end: int | None = None


@dataclass
class VelocitySource:
    """Sets the velocity (world/s) inside the shape while active."""

    shape: Shape
    velocity: tuple[float, float, float]
    start: int = 0
    end: int | None = None


def active(src, frame: int) -> bool:
    return frame >= src.start and (src.end is None or frame < src.end)


def _bounds(domain: Domain, shape: Shape, offset,
            grid_shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Index block [lo, hi) of a grid of `grid_shape` samples with `offset` that covers the
    shape."""
    h = domain.voxel_size
    lo, hi = [], []
    for a, n in enumerate(grid_shape):
        if a >= domain.dim:
            lo.append(0)
            hi.append(n)
            continue
        lo.append(max(0, math.floor((shape.centre[a] - shape.size[a]) / h - offset[a]) - 1))
        hi.append(min(n, math.ceil((shape.centre[a] + shape.size[a]) / h - offset[a]) + 2))
    return tuple(lo), tuple(hi)


class Region:
    """The samples of one layout (cells or one face direction) that a shape covers."""

    def __init__(self, domain: Domain, shape: Shape, offset, grid_shape):
        lo, hi = _bounds(domain, shape, offset, grid_shape)
        self.slices = tuple(slice(a, b) for a, b in zip(lo, hi))
        self.empty = any(b <= a for a, b in zip(lo, hi))
        if self.empty:
            self.mask = self.pos = None
            return
        self.pos = domain.cell_centres(lo, hi, offset)
        self.mask = shape.inside(self.pos, domain.dim)
        self.empty = not bool(self.mask.any())


CELL = (0.5, 0.5, 0.5)
FACES = ((0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0))


class CompiledSources:
    """A scene's sources turned into index regions of one domain."""

    def __init__(self, domain: Domain, density, velocity):
        self.domain = domain
        x, y, z = domain.shape
        face_shapes = ((x + 1, y, z), (x, y + 1, z), (x, y, z + 1))
        self.density = [(s, Region(domain, s.shape, CELL, domain.shape)) for s in density]
        self.velocity = []
        for s in velocity:
            cells_per_frame = [domain.to_cells(c) for c in s.velocity]
            regions = [Region(domain, s.shape, FACES[d], face_shapes[d]) for d in range(3)]
            self.velocity.append((s, cells_per_frame, regions))

    def apply_density(self, density: torch.Tensor, frame: int, time_frames: float) -> None:
        for src, reg in self.density:
            if reg.empty or not active(src, frame):
                continue
            block = density[reg.slices]
            value = torch.full(reg.mask.shape, src.value, dtype=torch.float64)
            if src.noise is not None and src.noise.amount > 0:
                n = src.noise.sample(reg.pos, time_frames / self.domain.fps)
                a = src.noise.amount
                value = value * (1.0 - a + 2.0 * a * n).clamp(0.0, 1.0)
            inflow = torch.where(reg.mask, value.float(), 0.0).to(block.device)
            torch.maximum(block, inflow, out=block)

    def apply_velocity(self, faces, frame: int) -> None:
        for src, vel, regions in self.velocity:
            if not active(src, frame):
                continue
            for d, reg in enumerate(regions):
                if d >= self.domain.dim and vel[d] == 0.0:
                    continue
                if not reg.empty:
                    faces[d][reg.slices].masked_fill_(reg.mask.to(faces[d].device), vel[d])


def obstacle_mask(domain: Domain, shapes, voxels: torch.Tensor | None = None) -> torch.Tensor:
    """Solid cells: centres inside any shape, or set in the voxel mask `voxels` (X, Y[, Z])."""
    solid = torch.zeros(domain.shape, dtype=torch.bool)
    if voxels is not None:
        v = torch.as_tensor(voxels).bool()
        if v.dim() == 2:
            v = v[..., None]
        if tuple(v.shape) != domain.shape:
            raise InputError(f"obstacle voxel mask {tuple(v.shape)} does not match the grid "
                             f"{domain.shape}")
        solid |= v
    for shape in shapes:
        reg = Region(domain, shape, CELL, domain.shape)
        if not reg.empty:
            solid[reg.slices] |= reg.mask
    return solid


def to_dict(obj) -> dict:
    return asdict(obj)
