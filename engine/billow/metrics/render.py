"""Pictures of volumes for reports: slices, max/mean projections, the red/blue time derivative
of Fig. 3.2, and a quick orthographic emission/absorption ray-march.

Volumes are `[x, y, z]` (y up). Images come back as `[H, W]` or `[H, W, 3]` float arrays in
display orientation: looking along -z (or the chosen axis) with y up, rows top to bottom.
2D fields `[x, y]` are shown as they are.
"""

from __future__ import annotations

import numpy as np
import torch

from .fields import as_tensor

AXES = {"x": 0, "y": 1, "z": 2}


def _display(plane: torch.Tensor | np.ndarray, axis: int) -> np.ndarray:
    """A 2D [u, v] array (the two remaining axes in order) to [rows, cols] with up at the top.
    Looking along x the image shows (z, y); along y it shows (x, z) seen from above."""
    a = plane.numpy() if isinstance(plane, torch.Tensor) else np.asarray(plane)
    if axis == 1:  # (x, z): x to the right, z towards the viewer at the bottom
        return np.ascontiguousarray(a.T)
    return np.ascontiguousarray(np.flipud(a.T))


def _axis(axis) -> int:
    return AXES[axis] if isinstance(axis, str) else int(axis)


def slice_image(volume, axis="z", index: int | None = None) -> np.ndarray:
    """The slice through `index` (default: the middle) perpendicular to `axis`."""
    v = as_tensor(volume)
    if v.dim() == 2:
        return _display(v, 2)
    a = _axis(axis)
    i = v.shape[a] // 2 if index is None else int(index)
    return _display(v.select(a, i), a)


def projection(volume, axis="z", mode: str = "max") -> np.ndarray:
    """Maximum or mean density along `axis` (`mode` "max" or "mean")."""
    v = as_tensor(volume)
    if v.dim() == 2:
        return _display(v, 2)
    a = _axis(axis)
    p = v.amax(a) if mode == "max" else v.mean(a)
    return _display(p, a)


def signed_rgb(diff, scale: float | None = None) -> np.ndarray:
    """Red for positive, blue for negative values (Fig. 3.2), on black; `scale` maps to full
    intensity (default: the 99.5th percentile of |diff|). Takes a 2D display image."""
    d = np.asarray(diff, dtype=np.float32)
    if scale is None:
        scale = float(np.percentile(np.abs(d), 99.5)) if d.size else 1.0
    s = max(scale, 1e-12)
    rgb = np.zeros(d.shape + (3,), np.float32)
    rgb[..., 0] = np.clip(d / s, 0, 1)
    rgb[..., 2] = np.clip(-d / s, 0, 1)
    return rgb


def render(volume, axis="z", density_scale: float = 6.0, light: float = 1.5,
           shadow: float = 0.5) -> np.ndarray:
    """Orthographic emission/absorption render [H, W, 3] in [0, 1].

    Extinction per voxel is density * density_scale * h, with h = 1 / (largest grid extent), so
    a column of density 1 across the domain has optical depth `density_scale` whatever the
    resolution (low- and high-res renders match in brightness). Each voxel emits white light
    times (0.25 + light * exp(-shadow * optical depth towards the top)), a cheap key light from
    above; front-to-back compositing over a dark background."""
    v = as_tensor(volume).clamp(min=0)
    if v.dim() == 2:
        g = np.clip(_display(v, 2) / max(float(v.max()), 1e-12), 0, 1)
        return np.repeat(g[..., None], 3, axis=-1)
    a = _axis(axis)
    h = 1.0 / max(v.shape)
    sigma = v * (density_scale * h)
    # light from +y: optical depth of the voxels above each voxel (exclusive cumulative sum)
    above = sigma.flip(1).cumsum(1).flip(1) - sigma
    emit = 0.25 + light * torch.exp(-shadow * above)
    alpha = 1.0 - torch.exp(-sigma)
    # the viewer looks along -axis (front = high index), except along y where it looks down
    front = alpha.flip(a)
    e = emit.flip(a)
    trans = torch.exp(-(sigma.flip(a).cumsum(a) - sigma.flip(a)))
    colour = (trans * front * e).sum(a)
    left = torch.exp(-sigma.sum(a))
    bg = 0.06
    img = _display((colour + left * bg).clamp(0, 1), a)
    return np.repeat(img[..., None], 3, axis=-1).astype(np.float32)
