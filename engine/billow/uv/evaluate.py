"""How well a texture and a UV sequence reconstruct the real frames (dissertation Sec. 5.4,
App. C.2): I'_t = W(T, omega_I(P_t)) against I_t.

- PSNR over the figure: the mean squared error over the union of the foreground (RGB alpha) and
  the UV mask, so missing garment pixels count as errors (`psnr`), and over the UV mask only,
  the dissertation's "cropped to fit P^r" variant (`psnr_uv`);
- SSIM of whole frames, background black in both;
- tOF and T-diff from `billow.metrics.image`, with the optical flow of the real frames as the
  reference motion;
- T-diff with the motion taken from the UVs themselves (App. C.2, Eq. C.2-C.3, `tdiff_uv`):
  pixel positions are splatted into texture space for t and t + 1, their difference sampled back
  at P_{t+1} is the displacement v_t, and the error is |I'_{t+1}(x) - I'_t(x - v_t(x))|.

Colours are in [0, 1]; tOF is in pixels per pixel, T-diff in colour units per pixel.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from ..metrics.image import ssim, tdiff, tof
from . import atlas, warp


def constant_texture(rgb: np.ndarray, uv: np.ndarray, mask: np.ndarray,
                     size: tuple[int, int]) -> np.ndarray:
    """T_o = W(I_ref, omega_T(P_ref)) of one frame (`rgb [H, W, 3]`), filled per tile."""
    u, m = warp.to_torch_uv(uv, mask)
    img = warp.to_torch_image(rgb) * m[:, None]
    with torch.no_grad():
        tex, weight = warp.splat(img, u, m, size)
        tex = warp.fill_holes(tex, weight, atlas.tile_index(size))
    return warp.to_numpy_image(tex)[0]


def reconstruct(texture: np.ndarray, uv: np.ndarray, mask: np.ndarray,
                chunk: int = 16) -> np.ndarray:
    """I'_t = W(T, omega_I(P_t)) for every frame: `[T, H, W, 3]`, zero outside the mask."""
    tex = warp.to_torch_image(texture)
    out = []
    with torch.no_grad():
        for s in range(0, len(uv), chunk):
            u, m = warp.to_torch_uv(uv[s:s + chunk], mask[s:s + chunk])
            out.append(warp.to_numpy_image(warp.sample(tex, u, m)))
    return np.concatenate(out)


def _masked_psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    if not region.any():
        return float("nan")
    mse = float(np.mean((a[region] - b[region]) ** 2))
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


def _uv_motion(uv: np.ndarray, mask: np.ndarray, size: tuple[int, int]):
    """v_t for every t (App. C.2): [T-1, H, W, 2] displacement of frame t+1's pixels since t,
    and where it is defined."""
    t_, h, w = mask.shape
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32),
                         indexing="ij")
    coords = torch.from_numpy(np.stack([xs, ys]))[None].expand(t_, -1, -1, -1)
    u, m = warp.to_torch_uv(uv, mask)
    with torch.no_grad():
        pos, weight = warp.splat(coords, u, m, size)  # W(c_img, omega_T(P_t))
        v_tex = pos[1:] - pos[:-1]  # Eq. C.2
        both = ((weight[1:] > 0) & (weight[:-1] > 0)).to(v_tex.dtype)
        v = warp.sample(v_tex, u[1:], m[1:])  # Eq. C.3
        ok = warp.sample(both, u[1:], m[1:]) > 0.999
    return v.permute(0, 2, 3, 1).numpy(), ok[:, 0].numpy()


def tdiff_uv(recon: np.ndarray, uv: np.ndarray, mask: np.ndarray,
             size: tuple[int, int]) -> list[float]:
    """Per transition t -> t+1: mean |I'_{t+1}(x) - I'_t(x - v_t(x))| where v_t is defined."""
    v, ok = _uv_motion(uv, mask, size)
    h, w = mask.shape[1:]
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32),
                         indexing="ij")
    out = []
    for t in range(len(v)):
        prev = cv2.remap(recon[t], xs - v[t, ..., 0], ys - v[t, ..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT)
        sel = ok[t]
        out.append(float(np.abs(recon[t + 1][sel] - prev[sel]).mean()) if sel.any()
                   else float("nan"))
    return out


def evaluate(recon: np.ndarray, rgb: np.ndarray, fg: np.ndarray, uv: np.ndarray,
             mask: np.ndarray, size: tuple[int, int]) -> dict:
    """Per-frame and mean metrics of reconstructions `recon` against frames `rgb` with
    foreground `fg`; `uv`/`mask` are the UVs that made `recon` (for PSNR regions and
    `tdiff_uv`)."""
    real = rgb * fg[..., None]
    frames = {"psnr": [], "psnr_uv": [], "ssim": []}
    for t in range(len(recon)):
        frames["psnr"].append(_masked_psnr(recon[t], real[t], fg[t] | mask[t]))
        frames["psnr_uv"].append(_masked_psnr(recon[t], real[t], mask[t]))
        frames["ssim"].append(ssim(recon[t], real[t]))
    pairs = range(1, len(recon))
    frames["tof"] = [tof(recon[t - 1], recon[t], real[t - 1], real[t]) for t in pairs]
    frames["tdiff"] = [tdiff(recon[t - 1], recon[t], real[t - 1], real[t]) for t in pairs]
    frames["tdiff_uv"] = tdiff_uv(recon, uv, mask, size) if len(recon) > 1 else []
    means = {k: (float(np.nanmean(v)) if v else float("nan")) for k, v in frames.items()}
    return {"mean": means, "frames": frames}

