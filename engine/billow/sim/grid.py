"""The staggered (MAC) grid of the solver, its boundaries and its state.

Units inside the solver: lengths in **cells**, time in **frames** (so velocities are cells per
frame and one frame advances time by 1, split into CFL substeps). The world frame of a scene
puts the domain at [0, 1] along its largest axis (voxel size 1/res), y up; scenes convert their
world-unit parameters (world/s, world/s^2) with `Domain.to_cells`.

Layout, in `[x, y, z]` index order (2D runs as 3D with Z = 1 and closed z sides):
- cell-centred: density, pressure, obstacle mask: (X, Y, Z); cell (i, j, k) centre at
  (i + .5, j + .5, k + .5);
- faces: u (X+1, Y, Z) at (i, j + .5, k + .5); v (X, Y+1, Z); w (X, Y, Z+1). Face i of u lies
  between cells i-1 and i; faces 0 and X are the domain's sides.

Boundaries per side: `wall` (no flow through, Neumann pressure) or `open` (Dirichlet p = 0
beyond the side, flow leaves or enters freely). The reference data generator opens top and
bottom, which is the default here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InputError

SIDES = ("x-", "x+", "y-", "y+", "z-", "z+")
BOUNDARY_KINDS = ("wall", "open")
DEFAULT_BOUNDARIES = "wall wall open open wall wall"
MIN_RES, MAX_RES = 4, 1024


def parse_boundaries(text: str | dict | None, dim: int) -> dict[str, str]:
    """'wall wall open open wall wall' (x- x+ y- y+ z- z+) or {'y+': 'open'} -> dict per side."""
    sides = dict(zip(SIDES, DEFAULT_BOUNDARIES.split()))
    if isinstance(text, dict):
        sides.update(text)
    elif text:
        words = text.replace(",", " ").split()
        if len(words) != 6:
            raise InputError(f"boundaries '{text}': give 6 words (x- x+ y- y+ z- z+), each "
                             "wall or open")
        sides = dict(zip(SIDES, words))
    for side, kind in sides.items():
        if side not in SIDES or kind not in BOUNDARY_KINDS:
            raise InputError(f"boundary {side}={kind}: sides are {', '.join(SIDES)} and kinds "
                             f"{', '.join(BOUNDARY_KINDS)}")
    if dim == 2:
        sides["z-"] = sides["z+"] = "wall"  # a 2D run has no z direction
    return sides


@dataclass(frozen=True)
class Domain:
    """Grid size, boundaries and the world frame (largest axis 1 world unit, y up)."""

    res: tuple[int, ...]
    boundaries: dict = field(default_factory=lambda: parse_boundaries(None, 3))
    fps: float = 24.0

    def __post_init__(self):
        res = tuple(int(n) for n in self.res)
        if len(res) not in (2, 3):
            raise InputError(f"resolution {self.res}: give 2 or 3 sizes")
        if any(n < MIN_RES or n > MAX_RES for n in res):
            raise InputError(f"resolution {'x'.join(map(str, res))}: every size must be "
                             f"between {MIN_RES} and {MAX_RES} cells")
        object.__setattr__(self, "res", res)
        object.__setattr__(self, "boundaries", parse_boundaries(self.boundaries, len(res)))

    @property
    def dim(self) -> int:
        return len(self.res)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The (X, Y, Z) the solver works on; Z = 1 in 2D."""
        return (*self.res, 1) if self.dim == 2 else self.res

    @property
    def voxel_size(self) -> float:
        return 1.0 / max(self.res)

    @property
    def extent(self) -> tuple[float, ...]:
        return tuple(n * self.voxel_size for n in self.res)

    def to_cells(self, world_per_s: float, power: int = 1) -> float:
        """world/s (power 1) or world/s^2 (power 2) -> cells/frame or cells/frame^2."""
        return world_per_s / self.voxel_size / self.fps ** power

    def cell_centres(self, lo: tuple[int, ...] = (0, 0, 0), hi: tuple[int, ...] | None = None,
                     offset=(0.5, 0.5, 0.5)) -> torch.Tensor:
        """World positions (..., 3) of samples with `offset` in index block [lo, hi)."""
        hi = hi or self.shape
        axes = [(torch.arange(a, b, dtype=torch.float64) + o) * self.voxel_size
                for a, b, o in zip(lo, hi, offset)]
        return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)


@dataclass
class State:
    """Density (X, Y, Z) and MAC velocity u, v, w in cells/frame; pressure kept for warm
    starts (in cells^2/frame, i.e. dt folded in)."""

    density: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    w: torch.Tensor
    pressure: torch.Tensor
    frame: int = 0

    @classmethod
    def zeros(cls, shape: tuple[int, int, int]) -> State:
        x, y, z = shape
        f = lambda *s: torch.zeros(s, dtype=torch.float32)
        return cls(f(x, y, z), f(x + 1, y, z), f(x, y + 1, z), f(x, y, z + 1), f(x, y, z))

    @property
    def faces(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.u, self.v, self.w

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k).cpu().numpy()
                for k in ("density", "u", "v", "w", "pressure")}

    def to(self, device) -> State:
        t = {k: getattr(self, k).to(device).contiguous()
             for k in ("density", "u", "v", "w", "pressure")}
        return State(**t, frame=self.frame)

    @classmethod
    def from_arrays(cls, arrays, frame: int) -> State:
        t = {k: torch.from_numpy(np.ascontiguousarray(arrays[k], np.float32))
             for k in ("density", "u", "v", "w", "pressure")}
        return cls(**t, frame=frame)

    def is_finite(self) -> bool:
        return all(bool(torch.isfinite(t).all()) for t in (self.density, self.u, self.v, self.w))


def centred_velocity(u: torch.Tensor, v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """MAC faces -> cell-centred velocity (3, X, Y, Z): the mean of each cell's two faces."""
    return torch.stack([0.5 * (u[1:] + u[:-1]), 0.5 * (v[:, 1:] + v[:, :-1]),
                        0.5 * (w[:, :, 1:] + w[:, :, :-1])])


def divergence(u: torch.Tensor, v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Net outflow of every cell (cells/frame per cell), (X, Y, Z)."""
    return (u[1:] - u[:-1]) + (v[:, 1:] - v[:, :-1]) + (w[:, :, 1:] - w[:, :, :-1])


@dataclass
class Cells:
    """What every cell and face is: obstacle mask and the masks derived from it and the
    boundaries. `face_fixed[d]` marks faces whose velocity is set (walls, obstacles), not
    solved for."""

    solid: torch.Tensor  # (X, Y, Z) bool
    face_fixed: tuple[torch.Tensor, torch.Tensor, torch.Tensor]

    @classmethod
    def build(cls, domain: Domain, solid: torch.Tensor | None = None) -> Cells:
        shape = domain.shape
        solid = torch.zeros(shape, dtype=torch.bool) if solid is None else solid.bool()
        if tuple(solid.shape) != shape:
            raise InputError(f"obstacle mask {tuple(solid.shape)} does not match the grid "
                             f"{shape}")
        fixed = []
        for d in range(3):
            pad = [0, 0] * 3
            pad[2 * (2 - d)] = pad[2 * (2 - d) + 1] = 1  # F.pad lists the last axis first
            ext = torch.nn.functional.pad(solid.float(), pad).bool()
            lo, hi = ext.narrow(d, 0, shape[d] + 1), ext.narrow(d, 1, shape[d] + 1)
            f = lo | hi
            side = SIDES[2 * d: 2 * d + 2]
            if domain.boundaries[side[0]] == "wall":
                f.narrow(d, 0, 1).fill_(True)
            if domain.boundaries[side[1]] == "wall":
                f.narrow(d, shape[d], 1).fill_(True)
            fixed.append(f.contiguous())
        return cls(solid.contiguous(), tuple(fixed))

    def to(self, device) -> Cells:
        return Cells(self.solid.to(device), tuple(f.to(device) for f in self.face_fixed))

    def enforce(self, state: State) -> None:
        """Obstacles and walls are static: no flow through them, no smoke inside them."""
        for face, fixed in zip(state.faces, self.face_fixed):
            face.masked_fill_(fixed, 0.0)
        state.density.masked_fill_(self.solid, 0.0)
