"""Constant texture and temporal relocation (dissertation Sec. 5.2.3): P^o -> P^f.

Every frame's optimised UVs P^o_t give its own texture T_t = W(I_t, omega_T(P^o_t)); those
textures drift over time. Relocation picks one constant texture T_o = T_ref (frame 0 by default)
and finds correspondences Q_t with T_t(u) = T_o(Q_t(u)), so that P^f_t(x) = Q_t(P^o_t(x)) maps
every frame into the same T_o:

1. Q^r_t from optical flow in texture space (OpenCV Farneback, T_t -> T_o; Q_o is the identity).
2. Rejection: texels where the lookup T'_t(u) = T_o(Q^r_t(u)) does not match T_t(u) in RGB,
   where Q^r_t leaves u's atlas tile, or where T_o was not observed at Q^r_t(u).
3. Refill (Eq. 5.11): for each rejected texel, the patch B of T_o inside a search window around
   the locally agreed flow that minimises ||[T_t]_A - [T_o]_B||_F^2 (A: the texel's patch);
   Q_t(u) = Q_o(B), the centre of B.
4. P^f_t = W(Q_t, omega_I(P^o_t)): the correspondence field sampled like any texture.

Texture-space arrays here are numpy `[Ht, Wt, C]` in texel coordinates (x right, y down); UVs
are converted with the atlas convention at the end.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..config import option
from . import atlas, warp


@dataclasses.dataclass(frozen=True)
class RelocateConfig:
    mismatch: float = option(0.08, "RGB mismatch (mean absolute difference over a 3x3 patch, "
                             "colours in [0, 1]) above which a flow correspondence is rejected")
    patch: int = option(5, "side of the patches compared when refilling rejected texels (Eq. 5.11)")
    search: int = option(4, "search radius in texels around the local flow for the refill")
    consensus: int = option(31, "window in texels over which accepted flow is averaged to centre "
                            "the refill search")


def textures(rgb: np.ndarray, uv: np.ndarray, mask: np.ndarray, size: tuple[int, int]):
    """Per-frame textures T_t = W(I_t, omega_T(P_t)) (Eq. 5.2), filled per atlas tile, and
    their splat weights: `([T, Ht, Wt, 3], [T, Ht, Wt])`."""
    u, m = warp.to_torch_uv(uv, mask)
    img = warp.to_torch_image(rgb) * m[:, None]
    with torch.no_grad():
        tex, weight = warp.splat(img, u, m, size)
        tex = warp.fill_holes(tex, weight, atlas.tile_index(size))
    return warp.to_numpy_image(tex), weight[:, 0].numpy()


def texture_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Farneback flow [Ht, Wt, 2] with a(u) ~ b(u + flow(u)), tuned for textures: a 7-texel
    window (the metrics' 15 blurs the small patterns of a tile; measured on a 1-texel shift:
    median error 0.05 texel vs 0.6), 3 pyramid levels for drifts of several texels."""
    def gray(x):
        return np.clip(x.mean(-1) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.calcOpticalFlowFarneback(gray(a), gray(b), None, 0.5, 3, 7, 5, 5, 1.1, 0)


def _remap(img: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    return cv2.remap(img.astype(np.float32), qx.astype(np.float32), qy.astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _patch_error(a: np.ndarray, b: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Mean absolute RGB difference over the observed texels of each 3x3 patch (hole-filled
    texels differ between frames for reasons unrelated to the correspondence)."""
    w = seen.astype(np.float32)
    return cv2.blur(np.abs(a - b).mean(-1) * w, (3, 3)) / np.maximum(cv2.blur(w, (3, 3)), 1e-6)


def _patches(img: np.ndarray, k: int) -> torch.Tensor:
    """[Ht * Wt, C, k * k] patches around every texel."""
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None]
    p = F.unfold(t, k, padding=k // 2)[0]
    return p.view(t.shape[1], k * k, -1).permute(2, 0, 1)


def _refill(tex_t, seen_t, po, seen_o, tiles, rejected, centre_x, centre_y, config):
    """Eq. 5.11 for the rejected texels: (qx, qy) of the best-matching T_o patch centre,
    comparing the patches on the texels observed in T_t."""
    ht, wt = tiles.shape
    k, r = config.patch, config.search
    pt = _patches(tex_t, k)
    wt_seen = _patches(seen_t[..., None].astype(np.float32), k)[:, 0]  # [Ht*Wt, k k]
    ys, xs = np.nonzero(rejected)
    offs = np.stack(np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1), indexing="ij"),
                    -1).reshape(-1, 2)
    qx, qy = np.empty(len(ys), np.float32), np.empty(len(ys), np.float32)
    seen_flat, tiles_flat = seen_o.reshape(-1), tiles.reshape(-1)
    for s in range(0, len(ys), 1024):
        y, x = ys[s:s + 1024], xs[s:s + 1024]
        cy = np.rint(centre_y[y, x])[:, None] + offs[None, :, 0]
        cx = np.rint(centre_x[y, x])[:, None] + offs[None, :, 1]
        cy, cx = np.clip(cy, 0, ht - 1).astype(np.int64), np.clip(cx, 0, wt - 1).astype(np.int64)
        cand = cy * wt + cx
        ok = seen_flat[cand] & (tiles_flat[cand] == tiles[y, x][:, None])
        at = torch.from_numpy(y * wt + x)
        a, aw = pt[at], wt_seen[at]  # [n, C, kk], [n, kk]
        b = po[torch.from_numpy(cand.reshape(-1))].view(len(y), -1, *a.shape[1:])
        cost = ((b - a[:, None]).pow(2).sum(2) * aw[:, None]).sum(-1).numpy()
        cost[~ok] = np.inf
        best = cost.argmin(1)
        none = ~np.isfinite(cost[np.arange(len(y)), best])
        qx[s:s + 1024] = np.where(none, centre_x[y, x], cx[np.arange(len(y)), best])
        qy[s:s + 1024] = np.where(none, centre_y[y, x], cy[np.arange(len(y)), best])
    return ys, xs, qx, qy


def correspondence(tex_t, seen_t, tex_o, seen_o, tiles, config, patches_o=None):
    """Q_t as texel coordinates (qx, qy) [Ht, Wt] with T_t(u) ~ T_o(Q_t(u)); plus the fraction
    of observed texels whose flow correspondence was rejected and refilled. `patches_o`
    caches T_o's patches across frames."""
    ht, wt = tiles.shape
    gx, gy = np.meshgrid(np.arange(wt, dtype=np.float32), np.arange(ht, dtype=np.float32))
    flow = texture_flow(tex_t, tex_o)  # tex_t(u) ~ tex_o(u + flow(u))
    qx, qy = gx + flow[..., 0], gy + flow[..., 1]
    lookup = _remap(tex_o, qx, qy)  # T'_t(u) = T_o(Q^r_t(u))
    ix = np.clip(np.rint(qx), 0, wt - 1).astype(np.int64)
    iy = np.clip(np.rint(qy), 0, ht - 1).astype(np.int64)
    bad = (_patch_error(lookup, tex_t, seen_t) > config.mismatch) | ~seen_o[iy, ix] \
        | (tiles[iy, ix] != tiles)
    rejected = bad & seen_t
    good = (~bad & seen_t).astype(np.float32)
    # centre the search on the flow agreed by the accepted texels around each rejected one
    k = (config.consensus, config.consensus)
    wsum = cv2.blur(good, k)
    cx = np.where(wsum > 1e-6, cv2.blur(flow[..., 0] * good, k) / np.maximum(wsum, 1e-6), 0)
    cy = np.where(wsum > 1e-6, cv2.blur(flow[..., 1] * good, k) / np.maximum(wsum, 1e-6), 0)
    po = _patches(tex_o, config.patch) if patches_o is None else patches_o
    ys, xs, fx, fy = _refill(tex_t, seen_t, po, seen_o, tiles, rejected, gx + cx, gy + cy,
                             config)
    qx[ys, xs], qy[ys, xs] = fx, fy
    # unobserved texels are only reached by bilinear lookups at the edge of the observed area:
    # give them the agreed flow rather than the flow of a hole-filled texture
    qx, qy = np.where(seen_t, qx, gx + cx), np.where(seen_t, qy, gy + cy)
    return qx, qy, float(rejected.sum() / max(seen_t.sum(), 1))


def relocate(uv: np.ndarray, mask: np.ndarray, rgb: np.ndarray, size: tuple[int, int],
             config: RelocateConfig | None = None, reference: int = 0, on_frame=None):
    """P^o (`uv [T, H, W, 2]`, `mask`) and the frames `rgb` to P^f in the constant texture.

    `reference` is the index (0..T-1) of the frame that defines T_o. Returns
    `(uv_f, texture_o [Ht, Wt, 3], seen_o [Ht, Wt], info)`; `info["rejected"]` lists the
    fraction of refilled texels per frame. `on_frame(index, rejected)` reports progress.
    """
    config = config or RelocateConfig()
    tex, weight = textures(rgb, uv, mask, size)
    seen = weight > 0
    tiles = atlas.tile_index(size)
    tex_o, seen_o = tex[reference], seen[reference]
    patches_o = _patches(tex_o, config.patch)
    ht, wt = size
    out = np.array(uv, np.float32, copy=True)
    rejected = [0.0] * len(tex)
    for t in range(len(tex)):
        if t != reference:
            qx, qy, rejected[t] = correspondence(tex[t], seen[t], tex_o, seen_o, tiles, config,
                                                 patches_o)
            # Q_t as uv, sampled at P^o_t like any texture: P^f_t = W(Q_t, omega_I(P^o_t))
            q_uv = np.stack([(qx + 0.5) / wt, 1.0 - (qy + 0.5) / ht], 0)[None]
            u, m = warp.to_torch_uv(uv[t], mask[t])
            with torch.no_grad():
                pf = warp.sample(torch.from_numpy(q_uv.astype(np.float32)), u, m)
            out[t] = np.clip(pf[0].permute(1, 2, 0).numpy(), 0.0, 1.0)
        if on_frame is not None:
            on_frame(t, rejected[t])
    out[~mask] = 0.0
    return out, tex_o, seen_o, {"rejected": rejected}
