"""Per-frame field metrics: fidelity to the reference (L1, PSNR) and to the input (the output
downsampled with the training data's filter vs the low-res input; mass at equal cell volume).

Every function takes one frame as a numpy array or torch tensor over its spatial axes only,
`[x, y]` or `[x, y, z]`, and returns a Python float.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..ops import downsample


def as_tensor(x) -> torch.Tensor:
    """A float32 torch view of `x` (no copy for float32 numpy arrays or tensors)."""
    if isinstance(x, torch.Tensor):
        return x if x.dtype == torch.float32 else x.float()
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _same_shape(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes {tuple(a.shape)} and {tuple(b.shape)} differ")


def l1(output, reference) -> float:
    """Mean absolute difference per voxel."""
    a, b = as_tensor(output), as_tensor(reference)
    _same_shape(a, b, "l1")
    return float((a - b).abs().mean())


def psnr(output, reference, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(R^2 / MSE). `data_range` R defaults to the
    reference's maximum (density has no fixed peak); +inf for identical fields."""
    a, b = as_tensor(output), as_tensor(reference)
    _same_shape(a, b, "psnr")
    peak = float(b.max()) if data_range is None else float(data_range)
    mse = float(((a - b) ** 2).mean())
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(max(peak, 1e-12) ** 2 / mse)


def relative_l1(output, reference) -> float:
    """sum |a - b| / sum |b| (0 for a perfect match; nan when b is empty)."""
    a, b = as_tensor(output), as_tensor(reference)
    _same_shape(a, b, "relative_l1")
    norm = float(b.abs().sum())
    return float((a - b).abs().sum()) / norm if norm > 0 else math.nan


def downsample_like_training(output, factor: int) -> torch.Tensor:
    """The output as the training data derives its low-res input (`billow.ops.downsample`)."""
    y = as_tensor(output)
    return downsample(y[None, None], factor)[0, 0]


def input_fidelity(output, low_res, factor: int) -> float:
    """Relative L1 between the output downsampled with the training filter and the input:
    how far an upres strays from what it was given (0 = exactly consistent)."""
    return relative_l1(downsample_like_training(output, factor), low_res)


def mass_ratio(output, low_res, factor: int) -> float:
    """Total output density over total input density at equal cell volume: an f-times finer
    cell holds 1/f^D of the volume, so the ratio is sum(y) / (f^D sum(x)); 1 = mass kept."""
    y, x = as_tensor(output), as_tensor(low_res)
    denom = float(x.sum()) * factor ** x.dim()
    return float(y.sum()) / denom if denom != 0 else math.nan
