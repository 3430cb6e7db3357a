"""Physics-aware data augmentation (dissertation Sec. 3.4.2).

A training tile is resampled from a simulation frame through an affine map
x~(w) = x(M (w - w_c) + u_c), with M = R F / s: a rotation R, axis flips F, a uniform zoom s in
[0.85, 1.15] and a translation u_c. Field kinds:

- passive (density): x~(w) = x(u(w));
- directional (velocity): v~(w) = M^{-1} v(u(w)) = s F R^T v(u(w)) -- rotated and flipped with
  the field, and scaled with the zoom (velocity is in cells per frame, and a zoomed-in tile has
  bigger cells' worth of motion per frame). This keeps the advection consistent:
  A(T y, T v) = T A(y, v);
- derived (vorticity): never augmented, recomputed from the augmented velocity (the generator
  derives it internally).

Arbitrary angles and zooms resample the high-res target with linear interpolation, which
blurs its finest detail a little (the paper's setup); `lossless` restricts the transforms to
quarter turns and flips, which copy voxels exactly.

Coordinates u are in low-res cell units from the domain corner: low-res cell i has its centre at
u = i + 0.5, high-res cell j at u = (j + 0.5) / f, so low- and high-res tiles stay aligned.
Translations are chosen so the whole tile (with its context padding) lies inside valid data
(no border extension); shear and non-uniform scale are never used (they break Navier-Stokes).
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F

from ..config import option


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Physics-aware augmentation of training tiles."""

    augment: bool = option(True, "augment tiles (rotations, flips, zoom, translations)")
    rotate_deg: float = option(90.0, "rotations uniformly in [-a, a] degrees (3D: random axis)")
    flip: bool = option(True, "random axis flips (velocity component negated)")
    scale_min: float = option(0.85, "smallest uniform zoom (velocity scaled with it)")
    scale_max: float = option(1.15, "largest uniform zoom")
    lossless: bool = option(False, "only quarter turns and flips, no zoom: tiles are exact "
                            "copies, so the high-res targets are never blurred by resampling")
    amplitude_min: float = option(1.0, "smallest factor on a tile's density, low- and "
                                  "high-res alike (log-uniform; density is passive, so the pair "
                                  "stays consistent and the generator learns any density units)")
    amplitude_max: float = option(1.0, "largest density factor (equal to --amplitude-min: off)")
    box_input: float = option(0.0, "probability of drawing a tile's low-res input from the box-"
                              "averaged derivation (data made with `billow dataset --lr-box`) "
                              "instead of the blur-and-sample one: the model must not learn to "
                              "undo one exact blur")
    min_density: float = option(0.02, "reject tiles whose low-res mean density is below this "
                                "(Sec. 3.4.1); no fallback to empty tiles")
    wall_tiles: float = option(0.0, "probability that a tile may reach past the domain walls "
                               "(its centre up to the wall), read as zeros there as tiled "
                               "inference pads a cache: the model sees smoke cut by a wall or a "
                               "cache's bounding box (issue 17: structure near the walls); 0: "
                               "tiles stay inside")
    dense_tiles: float = option(0.0, "probability that a tile must lie inside dense smoke: "
                                "its low-res mean density at least half the frame's density "
                                "scale s_d (the density-weighted mean density, "
                                "billow.ops.normalise), so the pockets and slow drift of large "
                                "fills, rare among random tiles, are trained on (session 19: "
                                "the flicker out of family sits there); 0: off")


def random_amplitude(cfg: AugmentConfig, gen: torch.Generator) -> float:
    """A log-uniform density factor in [amplitude_min, amplitude_max]; 1 without a draw when
    the range is empty (so runs without it keep their random stream)."""
    lo, hi = cfg.amplitude_min, cfg.amplitude_max
    if not cfg.augment or lo == hi == 1.0:
        return 1.0
    u = float(torch.rand(1, generator=gen, dtype=torch.float64))
    return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))


def _rotation(dim: int, angle: float, axis: torch.Tensor | None = None) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    if dim == 2:
        return torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    k = axis / axis.norm()
    kx = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]],
                      dtype=torch.float64)
    return torch.eye(3, dtype=torch.float64) + s * kx + (1 - c) * kx @ kx  # Rodrigues


def random_transform(dim: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """A random M = R F / s (float64, D x D)."""
    if not cfg.augment:
        return torch.eye(dim, dtype=torch.float64)
    if cfg.lossless:  # a signed permutation: quarter turns (+ flips), sampled exactly
        m = torch.eye(dim, dtype=torch.float64)[torch.randperm(dim, generator=gen)]
        signs = torch.where(torch.rand(dim, generator=gen) < 0.5, -1.0, 1.0).double()
        m = torch.diag(signs) @ m
        if not cfg.flip and torch.linalg.det(m) < 0:
            m[0] = -m[0]
        return m
    u = torch.rand(3 + dim, generator=gen, dtype=torch.float64)
    angle = math.radians(cfg.rotate_deg) * (2 * float(u[0]) - 1)
    axis = None
    if dim == 3:
        axis = torch.randn(3, generator=gen, dtype=torch.float64)
    rot = _rotation(dim, angle, axis)
    flips = torch.ones(dim, dtype=torch.float64)
    if cfg.flip:
        flips = torch.where(u[3: 3 + dim] < 0.5, -1.0, 1.0).to(torch.float64)
    scale = cfg.scale_min + (cfg.scale_max - cfg.scale_min) * float(u[1])
    return rot @ torch.diag(flips) / scale


def valid_centres(m: torch.Tensor, tile: int, domain: tuple[int, ...]):
    """Per axis (lo, hi) for the source centre u_c so that every corner of a `tile`^D tile
    (low-res cells, context included) maps inside the low-res cell centres [0.5, n - 0.5];
    None when the tile does not fit."""
    extent = m.abs().sum(dim=1) * tile / 2.0
    out = []
    for e, n in zip(extent.tolist(), domain):
        lo, hi = 0.5 + e, n - 0.5 - e
        if lo > hi + 1e-9:
            return None
        out.append((lo, hi))
    return out


def tile_grid(m: torch.Tensor, centre: torch.Tensor, tile: int, factor: int,
              source_cells: int) -> torch.Tensor:
    """grid_sample grid (align_corners=True) of a tile of `tile * factor` cells per axis
    (factor 1: low res) on a source with `source_cells * factor` cells per axis (a list)."""
    dim = m.shape[0]
    n = tile * factor
    w = (torch.arange(n, dtype=torch.float64) + 0.5) / factor - tile / 2.0  # w - w_c
    mesh = torch.stack(torch.meshgrid(*([w] * dim), indexing="ij"), dim=-1)  # (*n, D)
    u = mesh @ m.T + centre  # source position in low-res cell units
    idx = u * factor - 0.5  # source index at this resolution
    sizes = torch.tensor([s * factor for s in source_cells], dtype=torch.float64)
    norm = 2.0 * idx / (sizes - 1).clamp(min=1) - 1.0
    return norm.flip(-1).unsqueeze(0)  # grid_sample wants the last spatial axis first


def resample(field: torch.Tensor, grid: torch.Tensor, m: torch.Tensor | None = None,
             beyond: str = "border"):
    """Sample `(C, *S)` on `grid`; with `m`, the field is directional (C == D) and its vectors
    are mapped by M^{-1}. `beyond`: what lies past the field ("border": its edge values;
    "zeros": nothing, as tiled inference pads)."""
    out = F.grid_sample(field.unsqueeze(0), grid.to(field.dtype), mode="bilinear",
                        padding_mode=beyond, align_corners=True)[0]
    if m is None:
        return out
    inv = torch.linalg.inv(m).to(out.dtype)
    return torch.einsum("de,e...->d...", inv, out)
