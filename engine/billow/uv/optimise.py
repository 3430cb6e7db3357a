"""UV optimisation (dissertation Sec. 5.2.2, Eq. 5.5-5.10): P^e -> P^o by gradient descent on

    L = L_app + L_r,   L_app = || W(T_t, omega_I(P_t)) - I_t ||^2,   T_t = W(I_t, omega_T(P_t)),
    L_r = alpha1 ||grad P_t||_F^2 + alpha2 sum_ij ||H_ij(P_t)||_F^2          (Eq. 5.10)

The texture T_t is splatted from the frame with the current UVs and sampled back, both inside
the autograd graph (`billow.uv.warp`), so dL_app/dP_t includes both paths of Eq. 5.8.
Duplicate UVs (two pixels on one texel) average their colours in T_t and reconstruct neither
pixel, which is what drives the map towards one-to-one.

Units: P in uv units [0, 1], derivatives per pixel, colours in [0, 1], every term a mean over
the pixels (or pixel pairs) where it is defined; alpha1 = 100, alpha2 = 10 as in the
dissertation. Finite differences only join pixels of the same part: UVs jump across atlas seams
and must not be smoothed there. Each point stays inside its part's tile (projected steps).

All frames are optimised in parallel as one batch (or in chunks of `batch` frames), on the CPU
or a GPU.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..config import option
from . import atlas, warp
from .extend import part_ids


@dataclasses.dataclass(frozen=True)
class OptimiseConfig:
    iters: int = option(150, "gradient-descent iterations (the dissertation runs ~16500 at "
                        "1200x800 on a GPU; the loss here flattens after ~100-200 at 256x256)")
    lr: float = option(0.5, "Adam learning rate in texels per step (the step in uv units is "
                       "lr / texture height)")
    alpha1: float = option(100.0, "weight of the gradient regulariser ||grad P||^2 (Eq. 5.10)")
    alpha2: float = option(10.0, "weight of the Hessian regulariser sum ||H_ij(P)||^2 (Eq. 5.10)")
    batch: int = option(0, "frames optimised together (0: all frames at once); lower it when "
                        "memory runs out")
    device: str = option("cpu", "torch device: cpu, cuda, cuda:1, ...")
    log_every: int = option(10, "iterations between convergence-log entries")


def _same_part_pairs(part: torch.Tensor, axis: int, span: int) -> torch.Tensor:
    """Mask of pixels whose `span` successors along `axis` are in the same (non-zero) part."""
    n = part.shape[axis] - span
    ok = part.narrow(axis, 0, n) > 0
    for s in range(1, span + 1):
        ok = ok & (part.narrow(axis, s, n) == part.narrow(axis, 0, n))
    return ok


def smoothness_masks(part: torch.Tensor) -> dict:
    """Where each finite difference of Eq. 5.10 is defined (pixels of one part), computed once
    per optimisation rather than per iteration."""
    masks = {}
    for axis in (1, 2):
        masks[f"d{axis}"] = _same_part_pairs(part, axis, 1)
        masks[f"dd{axis}"] = _same_part_pairs(part, axis, 2)
    masks["dxy"] = masks["d1"][:, :, :-1] & masks["d2"][:, :-1, :] \
        & (part[:, 1:, 1:] == part[:, :-1, :-1])
    return {k: (v.to(torch.float32), v.sum().clamp_min(1)) for k, v in masks.items()}


def regulariser(uv: torch.Tensor, masks: dict, alpha1: float, alpha2: float):
    """Eq. 5.10 on `uv [N, H, W, 2]`: (alpha1 * mean ||grad P||^2, alpha2 * mean sum ||H_ij||^2),
    with forward differences inside each part (`smoothness_masks`)."""
    grad_terms, hess_terms = [], []
    for axis in (1, 2):
        ok, count = masks[f"d{axis}"]
        grad_terms.append((torch.diff(uv, dim=axis).pow(2).sum(-1) * ok).sum() / count)
        ok, count = masks[f"dd{axis}"]
        hess_terms.append((torch.diff(uv, n=2, dim=axis).pow(2).sum(-1) * ok).sum() / count)
    # mixed derivative H_xy = H_yx: counted twice in sum_ij
    ok, count = masks["dxy"]
    dxy = uv[:, 1:, 1:] - uv[:, 1:, :-1] - uv[:, :-1, 1:] + uv[:, :-1, :-1]
    hess_terms.append(2.0 * (dxy.pow(2).sum(-1) * ok).sum() / count)
    return alpha1 * sum(grad_terms), alpha2 * sum(hess_terms)


def appearance_loss(image: torch.Tensor, uv: torch.Tensor, mask: torch.Tensor,
                    size: tuple[int, int]) -> torch.Tensor:
    """L_app (Eq. 5.4): mean squared error of W(W(I, omega_T(P)), omega_I(P)) against I inside
    the mask."""
    recon = warp.round_trip(image, uv, mask, size)
    m = mask[:, None].to(image.dtype)
    return ((recon - image) ** 2 * m).sum() / (m.sum() * image.shape[1]).clamp_min(1)


def optimise(uv: np.ndarray, mask: np.ndarray, rgb: np.ndarray, size: tuple[int, int],
             config: OptimiseConfig | None = None, margin: float = 1e-3,
             on_step=None) -> tuple[np.ndarray, list[dict]]:
    """Optimise `uv [T, H, W, 2]` (masked by `mask`) against the frames `rgb [T, H, W, 3]`.

    Returns `(uv_o, log)` where `log` holds `{"iter", "frames", "loss", "app", "grad", "hess"}`
    entries every `log_every` iterations (and the first and last). `on_step(chunk, it, entry)`
    is called after every iteration (progress bars).
    """
    config = config or OptimiseConfig()
    dev = torch.device(config.device)
    part_np = part_ids(uv, mask)
    lo_np, hi_np = atlas.part_bounds(part_np, margin)
    t_ = uv.shape[0]
    batch = config.batch if config.batch > 0 else t_
    out = np.array(uv, np.float32, copy=True)
    log: list[dict] = []
    for c, start in enumerate(range(0, t_, batch)):
        sl = slice(start, min(start + batch, t_))
        m = torch.as_tensor(mask[sl], device=dev)
        smooth = smoothness_masks(torch.as_tensor(part_np[sl], device=dev))
        img = warp.to_torch_image(rgb[sl], device=dev) * m[:, None]
        lo = torch.as_tensor(lo_np[sl], dtype=torch.float32, device=dev)
        hi = torch.as_tensor(hi_np[sl], dtype=torch.float32, device=dev)
        p = torch.as_tensor(out[sl], device=dev).clone().requires_grad_(True)
        opt = torch.optim.Adam([p], lr=config.lr / max(size))
        for it in range(config.iters + 1):
            opt.zero_grad(set_to_none=True)
            app = appearance_loss(img, p, m, size)
            grad_r, hess_r = regulariser(p, smooth, config.alpha1, config.alpha2)
            loss = app + grad_r + hess_r
            entry = {"iter": it, "frames": [sl.start, sl.stop], "loss": float(loss.detach()),
                     "app": float(app.detach()), "grad": float(grad_r.detach()),
                     "hess": float(hess_r.detach())}
            if it % config.log_every == 0 or it == config.iters:
                log.append(entry)
            if on_step is not None and it > 0:
                on_step(c, it, entry)
            if it == config.iters:
                break  # the last pass only measures the final loss
            loss.backward()
            opt.step()
            with torch.no_grad():  # projected step: stay inside the part's tile
                p.copy_(torch.maximum(torch.minimum(p, hi), lo))
        out[sl] = np.where(mask[sl, ..., None], p.detach().cpu().numpy(), 0.0)
    return out, log


def uv_error(uv: np.ndarray, mask: np.ndarray, ref: np.ndarray, ref_mask: np.ndarray,
             size: tuple[int, int]) -> float:
    """Mean distance in texels between two UV maps where both are defined."""
    both = mask & ref_mask
    d = (uv - ref)[both] * np.array([size[1], size[0]], np.float32)
    return float(np.linalg.norm(d, axis=-1).mean()) if both.any() else float("nan")

