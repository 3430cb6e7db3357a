"""Measures of the failure modes an upres can have on smoke it was not trained on (issue 17),
beside `billow eval`'s: a pattern repeating every `factor` voxels, detail that ignores the
velocity-scale slider, output that does not scale with the input's density, and renders that
come out dimmer or brighter than the input's.

Every function takes one frame (numpy or torch, `[x, y]` or `[x, y, z]`) and returns a float
or a small dict of floats.

- `lattice_measure`: power of the high-passed field's FFT on the period-`p` lattice bins
  (k = N/p * j along each axis, DC excluded) over the mean power of each bin's immediate
  neighbours (within its k-space line or plane, see there). Natural smoke has a smooth spectrum there: about 1. A sub-voxel shuffle that adds
  the same offset to every phase of a 4x4x4 block puts a peak on these bins: far above 1.
- `high_band_energy`: energy above the input's Nyquist frequency (the detail an upres adds);
  compare it at `--velocity-scale` 0, 1, 2.
- `equivariance`: `upres(k x density) / k` against `upres(density)`.
- `brightness` / `brightness_ratio`: an orthographic absorption render with one material for
  input and output.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from ..ops.downsample import gaussian_blur
from .fields import as_tensor
from .spectrum import radial_spectrum

AXES = {"x": 0, "y": 1, "z": 2}
# Extinction of a unit density per world unit (the domain's largest axis is 1 world unit): a
# column of density 0.25 across the whole domain lets exp(-1) of the light through.
BRIGHTNESS_SIGMA = 4.0


def lattice_bins(shape: tuple[int, ...], period: int = 4) -> list[tuple[int, ...]]:
    """FFT indices of the period-`period` lattice (every combination of j * N / period per
    axis), DC excluded. Each axis must be a multiple of `period` (an upres output is)."""
    if any(n % period for n in shape):
        raise ValueError(f"lattice_bins: shape {tuple(shape)} is not a multiple of {period}")
    per_axis = [[j * n // period for j in range(period)] for n in shape]
    return [b for b in itertools.product(*per_axis) if any(b)]


def lattice_measure(field, period: int = 4, highpass_sigma: float | None = 2.0,
                    shell: int = 0) -> float:
    """sum over lattice bins of |FFT|^2 / sum over lattice bins of the mean |FFT|^2 of their
    immediate neighbours (ratio of sums, so that a few quiet bins do not dominate).

    A bin's neighbours are those one step away within its own coordinate subspace: along the
    line for a bin on a k-space axis (k = (N/4, 0, 0): (N/4 +- 1, 0, 0)), in the plane for a
    bin on a coordinate plane (8 neighbours), all 26 otherwise. Smoke with flat faces (the
    floor, a wall, the top of a layer, a box-shaped inflow) puts its edge spectrum on the axis
    lines and planes of k-space, where the off-line neighbours are far quieter: with all 26
    neighbours, a high-res simulation of a smoke block scores 6, tricubic 7; within the
    subspace both score about 1, and a period-4 pattern still stands out.

    The field is high-passed first (minus its Gaussian blur of `highpass_sigma` voxels, None: not
    at all): the smooth bulk and the jump where smoke meets the domain edge (the FFT is periodic)
    would otherwise leak along the axes onto the lattice bins of the first row. With sigma = 2
    the blur passes under 1% of the amplitude at |k| >= 1/4 cycles per voxel, so the lattice bins
    and their neighbours keep their power.
    `shell` voxels at every face of the domain are set to 0 first (the interior measure). Where
    smoke meets the domain walls, every upsampler's last low-res cell differs from the
    simulation's (tricubic scores 3-4x the reference on the wispy held-out set, 0.7-1.2x one
    low-res cell in: `benchmarks/ood_results_smooth.md`, session 9); with `shell` = the upres
    factor the measure shows the pattern inside the smoke, which is what an artist sees.
    Returns nan for an empty field."""
    x = as_tensor(field).double()
    if shell:
        inner = torch.zeros_like(x)
        core = tuple(slice(shell, n - shell) for n in x.shape)
        inner[core] = x[core]
        x = inner
    if highpass_sigma:
        x = x - gaussian_blur(x[None, None], highpass_sigma)[0, 0]
    power = torch.fft.fftn(x).abs().pow(2)
    shape = tuple(x.shape)
    bins = lattice_bins(shape, period)
    peak = neigh = 0.0
    for b in bins:
        steps = [(-1, 0, 1) if b[a] else (0,) for a in range(len(shape))]
        offsets = [d for d in itertools.product(*steps) if any(d)]
        idx = torch.tensor([[(b[a] + d[a]) % shape[a] for a in range(len(shape))]
                            for d in offsets])
        peak += float(power[b])
        neigh += float(power[tuple(idx.T)].mean())
    if neigh <= 0.0:
        return math.nan
    return peak / neigh


def high_band_energy(field, factor: int, window: str = "hann") -> float:
    """Sum of the radially averaged power over the bands above the input's Nyquist frequency
    (0.5 / factor cycles per voxel): the detail an upres adds (compare ratios, not values)."""
    s = radial_spectrum(field, window)
    return float(s.power[(s.k > 0.5 / factor + 1e-9) & (s.k <= 0.5 + 1e-9)].sum())


def equivariance(base, scaled, k: float) -> dict[str, float]:
    """How far `scaled` = upres(k x density) is from k x `base` = k x upres(density):
    `rel_l1` = sum |scaled / k - base| / sum |base| (0 = equivariant) and `mass_ratio` =
    sum(scaled) / (k sum(base)) (1 = the total density scales with k)."""
    b, s = as_tensor(base).double(), as_tensor(scaled).double()
    if b.shape != s.shape:
        raise ValueError(f"equivariance: shapes {tuple(b.shape)} and {tuple(s.shape)} differ")
    norm = float(b.abs().sum())
    total = float(b.sum()) * k
    return {"rel_l1": float((s / k - b).abs().sum()) / norm if norm > 0 else math.nan,
            "mass_ratio": float(s.sum()) / total if total != 0 else math.nan}


def brightness(volume, voxel_size: float, sigma: float = BRIGHTNESS_SIGMA,
               axis: str | int = "z") -> float:
    """Mean opacity of an orthographic absorption render along `axis`: per pixel
    T = exp(-sigma * sum(density) * voxel_size) with `voxel_size` in world units, brightness =
    mean(1 - T) over the pixels (emission proportional to absorption, black background, so a
    white-emitting medium's image is 1 - T). Renders of the same smoke at two resolutions, with
    the same `sigma`, compare directly."""
    v = as_tensor(volume).double().clamp(min=0)
    a = AXES[axis] if isinstance(axis, str) else int(axis)
    if v.dim() == 2:
        a = min(a, 1)
    depth = sigma * voxel_size * v.sum(a)
    return float((1.0 - torch.exp(-depth)).mean())


def brightness_ratio(output, low_res, factor: int, voxel_size: float,
                     sigma: float = BRIGHTNESS_SIGMA, axis: str | int = "z") -> float:
    """brightness(output) / brightness(input), the same material; `voxel_size` is the input's
    (world units), the output's is `voxel_size / factor`. 1 = as bright as the input."""
    b_in = brightness(low_res, voxel_size, sigma, axis)
    b_out = brightness(output, voxel_size / factor, sigma, axis)
    return b_out / b_in if b_in > 0 else math.nan


def lattice_pattern(shape: tuple[int, ...], period: int = 4, seed: int = 0) -> np.ndarray:
    """A fixed random pattern repeating every `period` voxels (what a per-phase offset of a
    sub-voxel shuffle adds), zero mean, unit std; for tests and calibration."""
    rng = np.random.default_rng(seed)
    tile = rng.standard_normal((period,) * len(shape))
    tile = (tile - tile.mean()) / tile.std()
    reps = [n // period for n in shape]
    return np.tile(tile, reps).astype(np.float32)
