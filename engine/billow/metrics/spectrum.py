"""Detail: the radially averaged energy spectrum of a density field and its log-ratio to the
reference's spectrum per wavenumber band.

Wavenumbers are in cycles per voxel of the grid the field lives on, so 0.5 is its Nyquist
frequency and 0.5 / f the Nyquist frequency of an f-times coarser input. The power of band k is
the mean of |FFT|^2 / N over the Fourier modes with |k| in [k - dk/2, k + dk/2), dk = 1 / min(n):
white noise of variance s^2 has power s^2 in every band (flat). Fields are multiplied by a
separable Hann window first: smoke touches the domain walls, and without a window the jump at
the periodic seam would leak a k^-2 tail over the high bands we want to measure.

Summary number: `detail_log_ratio` = mean over the bands above the input's Nyquist frequency of
log10(P_output / P_reference); 0 means as much fine detail as the reference, -1 ten times less
energy (typical of interpolation), +1 ten times more (noise).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from .fields import as_tensor


@dataclass
class Spectrum:
    """Band centres `k` (cycles per voxel) and mean power per band."""

    k: np.ndarray
    power: np.ndarray

    def __add__(self, other: "Spectrum") -> "Spectrum":
        if self.k.shape != other.k.shape:
            raise ValueError("spectra of differently sized grids cannot be added")
        return Spectrum(self.k, self.power + other.power)

    def scaled(self, s: float) -> "Spectrum":
        return Spectrum(self.k, self.power * s)


@functools.lru_cache(maxsize=8)
def _bands(shape: tuple[int, ...]):
    """(band of every rfft mode, mask of modes inside the inscribed sphere, band centres,
    number of bands, modes per band)."""
    freqs = [torch.fft.fftfreq(n) for n in shape[:-1]] + [torch.fft.rfftfreq(shape[-1])]
    k2 = torch.zeros([len(f) for f in freqs])
    for d, f in enumerate(freqs):
        view = [1] * len(freqs)
        view[d] = len(f)
        k2 = k2 + f.reshape(view) ** 2
    dk = 1.0 / min(shape)
    nbands = int(math.floor(0.5 / dk + 1e-9)) + 1  # bands 0 .. 0.5 inclusive
    band = torch.round(k2.sqrt() / dk).long()
    band[band >= nbands] = -1
    # rfft stores half the modes; the other half are conjugates with the same power, so a mean
    # over the stored half equals the mean over the full shell except for the self-conjugate
    # plane, which is close enough for a band average.
    flat = band.flatten()
    keep = flat >= 0
    counts = torch.bincount(flat[keep], minlength=nbands).double()
    return flat, keep, np.arange(nbands) * dk, nbands, counts


@functools.lru_cache(maxsize=8)
def _hann(shape: tuple[int, ...]) -> torch.Tensor:
    w = torch.ones(shape)
    for d, n in enumerate(shape):
        view = [1] * len(shape)
        view[d] = n
        w = w * torch.hann_window(n, periodic=False, dtype=torch.float32).reshape(view)
    # normalise so that white noise keeps its variance: mean(w^2) = 1
    return w / w.pow(2).mean().sqrt()


def radial_spectrum(field, window: str = "hann") -> Spectrum:
    """Radially averaged power spectrum of a 2D or 3D field (`window`: "hann" or "none").

    The mean is removed first, so band 0 holds only what the window leaks there."""
    x = as_tensor(field)
    shape = tuple(x.shape)
    x = x - x.mean()
    if window == "hann":
        x = x * _hann(shape)
    elif window != "none":
        raise ValueError(f"radial_spectrum: unknown window '{window}'")
    power = torch.fft.rfftn(x).abs().pow(2).flatten() / x.numel()
    flat, keep, k, nbands, counts = _bands(shape)
    sums = torch.bincount(flat[keep], weights=power[keep].double(), minlength=nbands)
    mean = (sums / counts.clamp(min=1)).numpy()
    return Spectrum(k.copy(), mean)


def log_ratio(output: Spectrum, reference: Spectrum, eps: float = 1e-30) -> np.ndarray:
    """log10(P_output / P_reference) per band."""
    if output.k.shape != reference.k.shape:
        raise ValueError("log_ratio: spectra of differently sized grids")
    return np.log10((output.power + eps) / (reference.power + eps))


def detail_log_ratio(output: Spectrum, reference: Spectrum, factor: int) -> float:
    """Mean log10 power ratio over the bands above the input's Nyquist (0.5 / factor)."""
    band = (output.k > 0.5 / factor + 1e-9) & (output.k <= 0.5 + 1e-9)
    return float(np.mean(log_ratio(output, reference)[band])) if band.any() else math.nan


def spectrum_error(output: Spectrum, reference: Spectrum, factor: int) -> float:
    """Mean |log10(P_output / P_reference)| over the bands above the input's Nyquist: how far
    the fine detail's spectrum is from the reference's in either direction (a field with too
    much detail cannot hide behind bands with too little, as in the signed mean)."""
    band = (output.k > 0.5 / factor + 1e-9) & (output.k <= 0.5 + 1e-9)
    return float(np.mean(np.abs(log_ratio(output, reference)[band]))) if band.any() else math.nan


def band_energy_fraction(spectrum: Spectrum, factor: int) -> float:
    """Share of the band-averaged (non-DC) spectrum above the input's Nyquist: a reference-free
    measure of how much sub-input-resolution detail a field carries."""
    k, p = spectrum.k, spectrum.power
    total = p[k > 0].sum()
    return float(p[k > 0.5 / factor + 1e-9].sum() / total) if total > 0 else math.nan
