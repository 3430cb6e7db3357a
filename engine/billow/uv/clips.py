"""Training data of the temporal UV generator: a clip of raw UVs, targets P^f, frames and the
constant texture T_o as tensors, and random crops of three consecutive frames from it."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..errors import InputError


@dataclasses.dataclass
class UVClip:
    """A training sequence as tensors: raw and target UV maps `(T, 3, H, W)` = (u, v, mask),
    frames `(T, 3, H, W)` premultiplied by their alpha, and the constant texture T_o
    `(1, 3, Ht, Wt)`. Frames are consecutive."""

    raw: torch.Tensor
    target: torch.Tensor
    rgb: torch.Tensor
    texture: torch.Tensor
    frames: list
    source: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        t, _, h, w = self.raw.shape
        if self.target.shape != self.raw.shape or self.rgb.shape != (t, 3, h, w):
            raise InputError(f"training data: raw {tuple(self.raw.shape)}, target "
                             f"{tuple(self.target.shape)} and rgb {tuple(self.rgb.shape)} "
                             "differ in frames or size")
        if t < 3:
            raise InputError(f"training data: {t} frames; the temporal losses need at least 3 "
                             "consecutive frames")


def uv_tensor(uv: np.ndarray, mask: np.ndarray) -> torch.Tensor:
    """numpy uv [T, H, W, 2], mask [T, H, W] -> (T, 3, H, W)."""
    m = np.asarray(mask, dtype=np.float32)[..., None]
    return torch.from_numpy(np.concatenate([uv * m, m], -1)).permute(0, 3, 1, 2).contiguous()


def load_clip(raw: str, target: str, rgb: str, texture: str, frames=None,
              mask: str | None = None) -> UVClip:
    """Read a training sequence with `billow.uv.io` (raw UVs or IUVs, target UVs P^f, frames,
    the texture T_o)."""
    from . import io as uvio

    f_raw, uv_r, m_r = uvio.read_uv_sequence(raw, frames)
    f_tgt, uv_t, m_t = uvio.read_uv_sequence(target, f_raw)
    f_rgb, img, alpha = uvio.read_rgb_sequence(rgb, f_raw, mask_pattern=mask)
    if list(f_raw) != list(f_tgt) or list(f_raw) != list(f_rgb):
        raise InputError(f"{raw}: frames of raw, target and rgb sequences differ")
    if uv_r.shape != uv_t.shape or uv_r.shape[:3] != img.shape[:3]:
        raise InputError(f"{raw}: raw {uv_r.shape[1:3]}, target {uv_t.shape[1:3]} and rgb "
                         f"{img.shape[1:3]} frame sizes differ")
    steps = np.diff(np.asarray(f_raw))
    if len(steps) and np.any(steps != steps[0]):
        raise InputError(f"{raw}: frames {f_raw[0]}..{f_raw[-1]} are not evenly spaced; the "
                         "temporal losses need consecutive frames")
    tex, _ = uvio.read_rgb(texture)
    a = np.asarray(alpha, dtype=np.float32)[..., None]
    rgb_t = torch.from_numpy(np.asarray(img, np.float32) * a).permute(0, 3, 1, 2).contiguous()
    return UVClip(uv_tensor(uv_r, m_r), uv_tensor(uv_t, m_t), rgb_t,
                  torch.from_numpy(np.asarray(tex, np.float32)).permute(2, 0, 1)[None]
                  .contiguous(), list(f_raw),
                  {"raw": str(raw), "target": str(target), "rgb": str(rgb),
                   "texture": str(texture), "mask": mask})


class CropSampler:
    """Random crops of three consecutive frames, centred near the target silhouette."""

    def __init__(self, clip: UVClip, crop: int, margin: int, background: float,
                 gen: torch.Generator):
        self.clip, self.crop, self.margin, self.background, self.gen = (
            clip, crop, margin, background, gen)
        _, _, h, w = clip.raw.shape
        if h < crop or w < crop:
            raise InputError(f"training frames are {h}x{w}, smaller than --crop {crop}")
        pad = margin
        self.raw = torch.nn.functional.pad(clip.raw, (pad,) * 4)
        self.target = torch.nn.functional.pad(clip.target, (pad,) * 4)
        self.rgb = torch.nn.functional.pad(clip.rgb, (pad,) * 4)
        self.fg = [torch.nonzero(clip.target[t, 2] > 0.5) for t in range(len(clip.frames))]

    def _corner(self, t: int) -> tuple[int, int]:
        _, _, h, w = self.clip.raw.shape
        c = self.crop
        r = torch.rand(3, generator=self.gen)
        fg = self.fg[t]
        if len(fg) == 0 or float(r[0]) < self.background:
            return (int(r[1] * (h - c + 1)), int(r[2] * (w - c + 1)))
        y, x = fg[int(r[1] * len(fg)) % len(fg)].tolist()
        jy, jx = (torch.rand(2, generator=self.gen) - 0.5) * c
        return (min(max(y - c // 2 + int(jy), 0), h - c), min(max(x - c // 2 + int(jx), 0), w - c))

    def sample(self, n: int) -> dict:
        """raw3, target3, rgb3: (n, 3 frames, 3, crop, crop); target_wide: frame t-1 of the
        target with `margin` extra pixels on each side (for the synthetic triplets)."""
        c, m = self.crop, self.margin
        count = len(self.clip.frames)
        out = {"raw3": [], "target3": [], "rgb3": [], "target_wide": []}
        for _ in range(n):
            t = 1 + int(torch.randint(count - 2, (1,), generator=self.gen))
            y, x = self._corner(t)
            sl = (slice(t - 1, t + 2), slice(None), slice(y + m, y + m + c),
                  slice(x + m, x + m + c))
            out["raw3"].append(self.raw[sl])
            out["target3"].append(self.target[sl])
            out["rgb3"].append(self.rgb[sl])
            out["target_wide"].append(self.target[t - 1, :, y: y + c + 2 * m, x: x + c + 2 * m])
        return {k: torch.stack(v) for k, v in out.items()}
