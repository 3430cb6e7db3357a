"""Discriminators (dissertation Sec. 3.2, 3.4, App. A.1): four strided convolutions of kernel 4
with leaky ReLU (slope 0.2), then one fully connected layer giving a logit.

- `SpatialDiscriminator` D_s(x, y): conditional. The condition is the low-res density
  up-sampled to the high-res grid with the cell-aligned nearest-neighbour interpolation of App.
  A.1 and concatenated with the density it judges (the reference code fed a jumbled slice of the
  flattened input instead).
- `TemporalDiscriminator` D_t: three high-res frames as channels, unconditional.

Normalisation `norm`: "bn" as App. A.1 (not on the first layer), or "sn" (default for the fast
presets): spectral normalisation on every layer and no BN. Reason: BN in a discriminator sees
real-only and fake-only batches and can separate them by batch statistics, while with small
CPU batches it is noisy; a quick CPU trial of the BN setup sat at chance for 1,800 iterations.
Spectral normalisation bounds the Lipschitz constant so D's gradients stay informative, and
pulls reliably at batch size 1 (3D).

`forward` returns `(logits (N,), features)`; features are the four post-activation layer
outputs used by the feature-space loss (Eq. 3.7).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..ops import interpolate_nearest

CHANNELS = (32, 64, 128, 256)


class _ConvClassifier(nn.Module):
    def __init__(self, dim: int, in_channels: int, tile: int, norm: str = "sn",
                 channels=CHANNELS):
        super().__init__()
        if norm not in ("bn", "sn", "none"):
            raise ValueError(f"discriminator norm must be bn, sn or none, not {norm!r}")
        if tile % 8:
            raise ValueError(f"discriminator tile {tile} must be divisible by 8")
        conv = nn.Conv2d if dim == 2 else nn.Conv3d
        bn = nn.BatchNorm2d if dim == 2 else nn.BatchNorm3d
        wrap = spectral_norm if norm == "sn" else (lambda m: m)
        self.dim = dim
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        c = in_channels
        for i, out in enumerate(channels):
            stride = 2 if i < 3 else 1  # 64 -> 32 -> 16 -> 8 -> 8 (kernel divisible by stride)
            self.convs.append(wrap(conv(c, out, 4, stride=stride, padding=0)))
            self.norms.append(bn(out) if norm == "bn" and i > 0 else nn.Identity())
            c = out
        side = tile // 8
        self.fc = wrap(nn.Linear(c * side ** dim, 1))

    def _pad(self, h: torch.Tensor, stride: int) -> torch.Tensor:
        # TensorFlow 'SAME' for kernel 4: stride 2 pads 1 | 1, stride 1 pads 1 | 2
        lo, hi = (1, 1) if stride == 2 else (1, 2)
        return F.pad(h, (lo, hi) * self.dim)

    def forward(self, h: torch.Tensor):
        features = []
        for i, (c, n) in enumerate(zip(self.convs, self.norms)):
            h = F.leaky_relu(n(c(self._pad(h, 2 if i < 3 else 1))), 0.2)
            features.append(h)
        return self.fc(h.flatten(1)).squeeze(1), features


class SpatialDiscriminator(nn.Module):
    """D_s(x, y): `lr_density` (N, 1, *s) and high-res `density` (N, 1, *4s)."""

    def __init__(self, dim: int, tile: int, factor: int = 4, norm: str = "sn"):
        super().__init__()
        self.factor = factor
        self.net = _ConvClassifier(dim, 2, tile, norm)

    def forward(self, lr_density: torch.Tensor, density: torch.Tensor):
        cond = interpolate_nearest(lr_density, self.factor)
        return self.net(torch.cat([cond, density], dim=1))


class TemporalDiscriminator(nn.Module):
    """D_t on three (advected) high-res frames `(N, 3, *S)` (Eq. 3.5)."""

    def __init__(self, dim: int, tile: int, norm: str = "sn"):
        super().__init__()
        self.net = _ConvClassifier(dim, 3, tile, norm)

    def forward(self, frames: torch.Tensor):
        return self.net(frames)
