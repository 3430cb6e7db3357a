"""The temporal UV networks of Sec. 5.2.4 and App. C.1: the generator G and the three
discriminators D_s (UV), D_t (three UV frames) and D_img (three images).

Tensors are images in `(N, C, H, W)` order (row 0 at the top, as `billow.uv.io` reads them):
a UV map is `(N, 2, H, W)` with channels (u, v) in the atlas convention of `billow.uv.atlas`.

G (Fig. C.1, a ResNet generator) maps a raw UV frame `(u, v, mask)` to

- `uv` `(N, 2, H, W)` in [0, 1]: where the input is valid, the input plus a residual (G
  corrects the raw UVs rather than re-inventing them); outside the input mask, a prediction
  from context (the garment and hair that the raw UVs cut off); clamped to [0, 1];
- `logits` `(N, K, H, W)`: class 0 is background, so `argmax != 0` is the output silhouette.
  K = 25 (background + the 24 DensePose parts, the I channel of App. C.1, trained with the
  cross-entropy L_I of Eq. C.1) or K = 2 (background / foreground) for UVs without parts.

It is fully convolutional with no normalisation layers, so a tile with a halo of
`receptive_radius` pixels (aligned to `stride` pixels) gives exactly the whole-frame output of
its core. The dissertation uses 30 (DensePose) or 20 (SMPL) residual blocks at full width; the
block count and widths are configurable (`UVNetConfig`), the shipped CPU model is small.

The discriminators share one encoder (Fig. C.2: five convolutions, then a dense layer) and
output LOGITS: the loss applies the sigmoid, once (`billow.uv.losses`); the public temporalUV
code applied it twice.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import option

IN_CHANNELS = 3  # u, v, mask


@dataclasses.dataclass(frozen=True)
class UVNetConfig:
    """Temporal UV networks (App. C.1, Fig. C.1 and C.2)."""

    blocks: int = option(6, "residual blocks of the generator (30 for DensePose input in the "
                         "dissertation; a few suffice on the synthetic benchmark)")
    width: int = option(16, "generator channels at full resolution (doubled per down-sampling)")
    down: int = option(2, "stride-2 down-samplings before the residual blocks (context reach)")
    classes: int = option(25, "output classes: 25 = background + 24 DensePose parts (L_I of "
                          "Eq. C.1), 2 = background/foreground for UVs without parts",
                          choices=(2, 25))
    residual_scale: float = option(0.05, "scale of G's UV residual over valid input pixels")
    d_width: int = option(16, "discriminator channels of the first layer (doubled per layer, "
                          "at most 8x)")
    d_norm: str = option("sn", "discriminator normalisation: sn (spectral) or none",
                         choices=("sn", "none"))

    @property
    def stride(self) -> int:
        """Tiles and frames are processed in multiples of this many pixels."""
        return 2 ** self.down


def _conv(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Conv2d:
    # Replicate padding: a training crop is mostly within the receptive radius of its border,
    # so with zero padding the features of a large uniform region (the background far from
    # the figure in a whole frame) would never be seen in training, and a first CPU run of V3
    # did label the whole background foreground there. Replicated borders reproduce a uniform
    # region's features exactly. Tiles are unaffected: their cores lie a halo from the edge.
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, padding_mode="replicate")


class _ResBlock(nn.Module):
    """h + C_2(ReLU(C_1(h))), no normalisation (batch statistics would make tiles disagree)."""

    def __init__(self, width: int):
        super().__init__()
        self.c1 = _conv(width, width, 3)
        self.c2 = _conv(width, width, 3)

    def forward(self, h):
        return h + self.c2(F.relu(self.c1(h)))


class UVGenerator(nn.Module):
    """Fig. C.1: 7x7 conv, `down` stride-2 convs, residual blocks, `down` x2 up-samplings
    (nearest + 3x3 conv, no checkerboard; skip connections from the same scale), 3x3 conv to
    residual, absolute UV and logits."""

    def __init__(self, cfg: UVNetConfig = UVNetConfig()):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.head = _conv(IN_CHANNELS, w, 7)
        self.downs = nn.ModuleList()
        for i in range(cfg.down):
            self.downs.append(_conv(w * 2**i, w * 2 ** (i + 1), 3, stride=2))
        wb = w * 2**cfg.down
        self.blocks = nn.ModuleList([_ResBlock(wb) for _ in range(cfg.blocks)])
        self.ups = nn.ModuleList()
        for i in reversed(range(cfg.down)):
            self.ups.append(_conv(w * 2 ** (i + 1), w * 2**i, 3))
        self.tail = _conv(w, 4 + cfg.classes, 3)
        # start close to "copy the input": zero residual, neutral absolute UV, and background
        # more likely than any one class (silhouettes grow from evidence, not by default)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        with torch.no_grad():
            self.tail.bias[4] = math.log(cfg.classes - 1) + 1.0

    @property
    def receptive_radius(self) -> int:
        """Input pixels that reach an output pixel on each side: each k x k conv at a scale
        of s pixels adds (k // 2) s; a nearest x2 up-sampling adds at most one coarse pixel."""
        r, s = 3, 1  # head
        for _ in range(self.cfg.down):
            r += s  # stride-2 3x3 conv reads one pixel either side at the finer scale
            s *= 2
        r += 2 * s * len(self.blocks)
        for _ in range(self.cfg.down):
            r += s  # nearest up-sampling
            s //= 2
            r += s  # 3x3 conv
        return r + 1  # tail

    @property
    def halo(self) -> int:
        """`receptive_radius` rounded up to the stride, so tiles stay aligned."""
        st = self.cfg.stride
        return -(-self.receptive_radius // st) * st

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x `(N, 3, H, W)` = (u, v, mask), H and W multiples of `cfg.stride`."""
        mask = (x[:, 2:3] > 0.5).to(x.dtype)
        uv_in = x[:, :2] * mask
        h = F.relu(self.head(torch.cat([uv_in * 2 - 1, mask], dim=1)))
        skips = []
        for conv in self.downs:
            skips.append(h)
            h = F.relu(conv(h))
        for block in self.blocks:
            h = block(h)
        for conv, skip in zip(self.ups, reversed(skips)):
            h = F.relu(conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))) + skip
        out = self.tail(h)
        residual = out[:, 0:2] * self.cfg.residual_scale
        absolute = 0.5 + out[:, 2:4]
        uv = mask * (uv_in + residual) + (1 - mask) * absolute
        return uv.clamp(0.0, 1.0), out[:, 4:]


def foreground_probability(logits: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): 1 - P(background), differentiable (gives D and the image losses a soft
    silhouette to judge)."""
    return 1.0 - torch.softmax(logits, dim=1)[:, :1]


def decode(uv: torch.Tensor, logits: torch.Tensor):
    """Network outputs to (uv (N, H, W, 2), mask (N, H, W) bool, part (N, H, W) int64)."""
    part = logits.argmax(dim=1)
    return uv.permute(0, 2, 3, 1), part != 0, part


class Encoder(nn.Module):
    """Fig. C.2: five convolutions (leaky ReLU 0.2), a dense layer, one LOGIT per sample.

    Four 4x4 stride-2 convolutions halve the crop each (32 -> 2), the fifth is 3x3 stride 1.
    """

    def __init__(self, in_channels: int, crop: int = 32, width: int = 16, norm: str = "sn"):
        super().__init__()
        if crop % 16:
            raise ValueError(f"discriminator crop {crop} must be a multiple of 16")
        wrap = spectral_norm if norm == "sn" else (lambda m: m)
        chans = [width * min(2**i, 8) for i in range(5)]
        layers, c = [], in_channels
        for i, out in enumerate(chans):
            conv = (nn.Conv2d(c, out, 4, stride=2, padding=1) if i < 4
                    else nn.Conv2d(c, out, 3, padding=1))
            layers.append(wrap(conv))
            c = out
        self.convs = nn.ModuleList(layers)
        self.fc = wrap(nn.Linear(c * (crop // 16) ** 2, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        return self.fc(h.flatten(1)).squeeze(1)


def spatial_discriminator(cfg: UVNetConfig, crop: int) -> Encoder:
    """D_s: one UV frame (2 channels, masked by the silhouette)."""
    return Encoder(2, crop, cfg.d_width, cfg.d_norm)


def temporal_discriminator(cfg: UVNetConfig, crop: int) -> Encoder:
    """D_t: three UV frames t-1, t, t+1 (6 channels)."""
    return Encoder(6, crop, cfg.d_width, cfg.d_norm)


def image_discriminator(cfg: UVNetConfig, crop: int) -> Encoder:
    """D_img: three RGB frames t-1, t, t+1 (9 channels)."""
    return Encoder(9, crop, cfg.d_width, cfg.d_norm)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
