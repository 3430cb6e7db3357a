"""Wavelet turbulence upres (Kim, Thuerey, James, Gross 2008), the procedural method behind
Blender's smoke "Noise" and the dissertation's Sec. 3.5.3 comparison, as a baseline.

Per frame t, on the f-times finer grid (all velocities in high-res cells per frame):

1. v = f * trilinear(v_lr): the low-res velocity, upsampled.
2. Texture coordinates p(x) are advected with v (semi-Lagrangian). Kim et al. regenerate them
   when their Jacobian drifts too far from the identity; here two sets are regenerated
   alternately every `regenerate` frames and cross-faded with triangular weights, so resets
   never pop.
3. Turbulence: u = v + strength * s(x) * sum_k 2^(-5k/6) curl W(2^k p(x) / lambda), with W
   band-limited wavelet noise (Cook and DeRose 2005; its curl is precomputed on the tile, as
   Kim et al. precompute noise derivatives; here it is sampled trilinearly, not with quadratic
   B-splines), octave 0 at wavelength lambda..2 lambda with lambda = f high-res cells (the band
   just above the input's Nyquist), 2^(-5k/6) the per-octave Kolmogorov decay of Kim et al.,
   and s(x) the local speed of the input's highest resolved band, |v_lr - G_1 * v_lr| upsampled
   (Kim et al.'s energy e = |v|^2 / 2 of the band at the cutoff, as a speed sqrt(2 e)).
4. Density: rho^t = A(rho^{t-1}, u^{t-1}) (MacCormack, high-res), then pulled back onto the
   input: rho^t += trilinear(x^t - D(rho^t)) with D the training-data filter, clamped at 0. The
   correction injects sources and keeps the low band of the input (Kim et al. inject the
   low-res sources; a sequence has none to inject). Frame 0 is the tricubic upres.

Deterministic for a given `seed`. Frames must be consecutive and on one fixed low-res block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..config import option
from ..metrics.fields import as_tensor
from ..ops import advect, downsample, gaussian_blur, upsample_velocity
from .interp import upsample

# Cook and DeRose 2005, appendix: analysis (downsampling) coefficients of the quadratic
# B-spline wavelet, and the refinement (upsampling) mask.
_A_COEFFS = np.array([
    0.000334, -0.001528, 0.000410, 0.003545, -0.000938, -0.008233, 0.002172, 0.019120,
    -0.005040, -0.044412, 0.011655, 0.103311, -0.025936, -0.243780, 0.033979, 0.655340,
    0.655340, 0.033979, -0.243780, -0.025936, 0.103311, 0.011655, -0.044412, -0.005040,
    0.019120, 0.002172, -0.008233, -0.000938, 0.003546, 0.000410, -0.001528, 0.000334])
_P_COEFFS = np.array([0.25, 0.75, 0.75, 0.25])


@dataclass(frozen=True)
class WaveletConfig:
    """Wavelet turbulence parameters."""

    strength: float = option(2.0, "turbulence amplitude, in units of the input's unresolved "
                             "band speed (Blender's Noise 'strength')", flag="--wavelet-strength")
    octaves: int | None = option(None, "noise octaves (default: log2(scale), the bands between "
                                 "the input's and the output's Nyquist)",
                                 flag="--wavelet-octaves")
    noise_scale: float = option(1.0, "noise frequency multiplier (>1: finer detail)",
                                flag="--wavelet-noise-scale")
    regenerate: int = option(24, "frames between texture-coordinate regenerations",
                             flag="--wavelet-regenerate")
    tile: int = option(64, "wavelet noise tile size in texels (even)", flag="--wavelet-tile")
    seed: int = option(0, "random seed of the noise tile", flag="--wavelet-seed")


def _down_periodic(x: np.ndarray, axis: int) -> np.ndarray:
    n = x.shape[axis]
    out = np.zeros_like(np.take(x, np.arange(n // 2), axis=axis))
    for j, a in enumerate(_A_COEFFS):  # to[i] = sum_k a[k - 2i + 16] from[k]
        idx = (2 * np.arange(n // 2) + j - 16) % n
        out += a * np.take(x, idx, axis=axis)
    return out


def _up_periodic(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.shape[axis]
    shape = list(x.shape)
    shape[axis] = 2 * m
    out = np.zeros(shape, x.dtype)
    i = np.arange(2 * m)
    for k_off in (0, 1):  # to[i] = sum_{k=i/2}^{i/2+1} p[i - 2k + 2] from[k]
        k = i // 2 + k_off
        w = _P_COEFFS[i - 2 * k + 2]
        view = [1] * x.ndim
        view[axis] = 2 * m
        out += w.reshape(view) * np.take(x, k % m, axis=axis)
    return out


def wavelet_noise_tile(n: int, dims: int, seed: int) -> np.ndarray:
    """Band-limited periodic noise tile (Cook and DeRose 2005): random values minus their own
    coarse approximation (downsample, upsample), with unit variance."""
    if n % 2 or n < 8:
        raise ValueError(f"wavelet noise tile size must be even and >= 8, got {n}")
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((n,) * dims)
    coarse = r
    for axis in range(dims):
        coarse = _down_periodic(coarse, axis)
    for axis in range(dims):
        coarse = _up_periodic(coarse, axis)
    noise = r - coarse
    # Cook and DeRose offset the tile by half its size (n odd-even trick) to avoid aliasing of
    # the band edge; with an even tile the plain difference is already band-limited enough.
    return (noise / noise.std()).astype(np.float32)


def curl_noise_tile(n: int, dims: int, seed: int) -> torch.Tensor:
    """(D, n, ..., n) divergence-free noise: the curl of independent wavelet-noise potentials
    (3 in 3D, 1 in 2D), periodic central differences, unit RMS per component on average."""
    def d(a, axis):
        return 0.5 * (np.roll(a, -1, axis) - np.roll(a, 1, axis))

    if dims == 3:
        px, py, pz = (wavelet_noise_tile(n, 3, seed + i) for i in range(3))
        curl = np.stack([d(pz, 1) - d(py, 2), d(px, 2) - d(pz, 0), d(py, 0) - d(px, 1)])
    else:
        psi = wavelet_noise_tile(n, 2, seed)
        curl = np.stack([d(psi, 1), -d(psi, 0)])
    curl /= np.sqrt((curl**2).sum(0).mean() / dims)
    return torch.from_numpy(curl.astype(np.float32))


def periodic_pad(tile: torch.Tensor) -> torch.Tensor:
    """A (C, n, ..., n) periodic tile with its first layer repeated after the last on every
    spatial axis: (C, n+1, ..., n+1), ready for `sample_periodic`."""
    for axis in range(1, tile.dim()):
        tile = torch.cat([tile, tile.narrow(axis, 0, 1)], dim=axis)
    return tile.contiguous()


def sample_periodic(padded: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Trilinear lookup of a periodic tile (from `periodic_pad`) at texel coordinates (D, *S)."""
    dims = coords.shape[0]
    n = padded.shape[1] - 1
    u = torch.remainder(coords, n) * (2.0 / n) - 1.0  # texel n sits at +1 (align_corners)
    grid = torch.stack([u[d] for d in reversed(range(dims))], dim=-1)[None]
    return F.grid_sample(padded[None], grid, mode="bilinear", padding_mode="border",
                         align_corners=True)[0]


class WaveletTurbulence:
    """Stateful upres of one sequence: call `step(density_lr, velocity_lr)` per frame, in
    order; it returns the high-res density of that frame."""

    def __init__(self, factor: int, config: WaveletConfig | None = None):
        self.factor = int(factor)
        self.config = config or WaveletConfig()
        self.octaves = (self.config.octaves if self.config.octaves is not None
                        else max(1, int(round(math.log2(self.factor)))))
        self._tile: torch.Tensor | None = None
        self.reset()

    def reset(self) -> None:
        self.t = 0
        self.rho = self.u = self.v_up = None
        self.coords: list[torch.Tensor] = []

    def _identity(self, shape) -> torch.Tensor:
        axes = [torch.arange(n, dtype=torch.float32) for n in shape]
        return torch.stack(torch.meshgrid(*axes, indexing="ij"))

    def _noise(self) -> torch.Tensor:
        """Cross-faded multi-octave curl noise at the current texture coordinates, unit RMS."""
        cfg = self.config
        dims = self.coords[0].shape[0]
        if self._tile is None or self._tile.shape[0] != dims:
            self._tile = periodic_pad(curl_noise_tile(cfg.tile, dims, cfg.seed))
        period = max(2, cfg.regenerate)
        total = None
        weights = []
        for j, p in enumerate(self.coords):
            age = (self.t + j * period // 2) % period
            weights.append(1.0 - abs(2.0 * age / period - 1.0))
        norm_w = math.sqrt(sum(w * w for w in weights)) or 1.0
        norm_o = math.sqrt(sum(2.0 ** (-5.0 * k / 3.0) for k in range(self.octaves)))
        for j, p in enumerate(self.coords):
            if weights[j] == 0:
                continue
            for k in range(self.octaves):
                # octave 0: wavelength lambda..2 lambda (lambda = f cells) <- 2..4 texels
                texels = p * (2.0 ** k * cfg.noise_scale * 2.0 / self.factor)
                # a different tile offset per set and octave decorrelates them
                texels = texels + 17.0 * (2 * j + k + 1)
                term = sample_periodic(self._tile, texels) * (
                    weights[j] * 2.0 ** (-5.0 * k / 6.0) / (norm_w * norm_o))
                total = term if total is None else total + term
        return total

    def step(self, density, velocity) -> torch.Tensor:
        x = as_tensor(density)
        v_lr = as_tensor(velocity)
        f, dims = self.factor, x.dim()
        if v_lr.shape != (dims, *x.shape):
            raise ValueError(f"wavelet turbulence: velocity {tuple(v_lr.shape)} does not match "
                             f"density {tuple(x.shape)}")
        if self.rho is not None and self.rho.shape != tuple(n * f for n in x.shape):
            before = tuple(n // f for n in self.rho.shape)
            raise ValueError("wavelet turbulence: every frame must use the same low-res block "
                             f"(got {tuple(x.shape)} after {before})")
        v_up = upsample_velocity(v_lr, f)
        period = max(2, self.config.regenerate)
        if self.rho is None:
            rho = upsample(x, f, "tricubic")
            ident = self._identity(rho.shape)
            self.coords = [ident.clone(), ident.clone()]
        else:
            # 2. texture coordinates follow the (upsampled) input flow; regenerate on schedule
            ident = self._identity(self.rho.shape)
            for j in range(2):
                if (self.t + j * period // 2) % period == 0:
                    self.coords[j] = ident.clone()
                else:
                    self.coords[j] = advect(self.coords[j][None], self.v_up[None])[0]
            # 4. density moves with the turbulent velocity, then is pulled back onto the input
            rho = advect(self.rho[None, None], self.u[None], order="maccormack")[0, 0]
            for _ in range(2):
                low = downsample(rho[None, None], f)[0, 0]
                rho = (rho + upsample(x - low, f, "trilinear", clamp=False)).clamp(min=0)
        # 3. turbulence scaled by the input's unresolved-band speed
        band = v_lr - gaussian_blur(v_lr[None], 1.0)[0]
        speed = upsample(band.pow(2).sum(0).sqrt(), f, "trilinear", clamp=False) * f
        self.u = v_up + self.config.strength * speed * self._noise()
        self.v_up = v_up
        self.rho = rho
        self.t += 1
        return rho
