"""UV extension (dissertation Sec. 5.2.1): raw, body-only UVs P^r to the whole foreground
silhouette (loose skirt, hair), giving P^e.

Raw UVs keep neighbours as neighbours (Fig. 5.2b), so missing pixels are extrapolated from the
body UVs next to them and then relaxed with a virtual mass-spring system in texture space:

1. Part ids: every missing pixel takes the part (atlas tile) of its nearest raw pixel (OpenCV
   distance transform with labels); no hand-made garment labels.
2. Initial guess: first-order extrapolation from that raw pixel q,
   P(p) = P(q) + J(q) (x_p - x_q), with J = dP/dx smoothed over the raw pixels of q's part.
3. Springs join each new point O_0 to its neighbours O_1..O_n of the same part inside a
   `window x window` region (40 x 40 in the dissertation; here a sparse multi-ring stencil over
   that region, which keeps the cost linear in the pixels). A spring's rest length is the
   offset's length under the local Jacobian, |J (x_q - x_p)|, so the extension keeps the body's
   texel density. Forces f_i = (|d_i| - L_i) d_i / |d_i|, d_i = P(O_i) - P(O_0); raw points
   stay fixed.
4. Push, then pull: first only compressed springs act (points that landed on top of each other
   are pushed apart, which is what keeps the map one-to-one), then only stretched springs act
   (the texture becomes compact again). Each phase runs to equilibrium, sum f_i = 0, or its
   iteration budget.

All frames are relaxed at once (one gather per iteration over every missing pixel of every
frame). New points are kept inside their part's tile so per-tile hole filling and the part
channel stay consistent.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..config import option
from . import atlas


@dataclasses.dataclass(frozen=True)
class ExtendConfig:
    window: int = option(40, "side in pixels of the region whose points are joined to a new "
                         "point by springs (Sec. 5.2.1)")
    push_iters: int = option(60, "relaxation iterations with pushing forces only")
    pull_iters: int = option(60, "relaxation iterations with pulling forces only, after the push")
    tolerance: float = option(0.01, "equilibrium: a phase stops when the mean force falls below "
                              "this fraction of the mean rest length")
    step: float = option(0.5, "relaxation step (fraction of the mean spring force per iteration)")
    min_scale: float = option(0.1, "smallest factor by which a part's extrapolation may be "
                              "shrunk to fit inside its atlas tile")
    jacobian_window: int = option(9, "pixels over which the raw UV Jacobian is averaged for the "
                                  "extrapolation")


def _rings(window: int) -> np.ndarray:
    """Stencil offsets (dy, dx): 8 directions at radii 1, 2, 4, 8, ... up to window / 2 (the
    long springs carry the push across the region in few iterations, the short ones keep
    neighbours apart)."""
    radii, r = [], 1
    while r <= window // 2:
        radii.append(r)
        r *= 2
    dirs = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])
    return np.concatenate([dirs * r for r in radii])


def part_ids(uv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Atlas part (1..24) of every masked pixel, 0 elsewhere."""
    i, _, _ = atlas.uv_to_iuv(uv, mask)
    return np.where(mask, i, 0)


def _box_mean(values: torch.Tensor, weight: torch.Tensor, k: int) -> torch.Tensor:
    """Normalised box filter of `values [T, C, H, W]` with `weight [T, 1, H, W]`."""
    num = F.avg_pool2d(values * weight, k, 1, k // 2, count_include_pad=False)
    den = F.avg_pool2d(weight, k, 1, k // 2, count_include_pad=False)
    return num / den.clamp_min(1e-6)


def raw_jacobian(uv: np.ndarray, part: np.ndarray, window: int) -> np.ndarray:
    """dP/dx per pixel, [T, H, W, 2, 2] (rows u, v; columns d/dx, d/dy in uv per pixel),
    from forward differences between raw pixels of the same part, averaged over `window`."""
    t = torch.from_numpy(np.ascontiguousarray(uv, dtype=np.float32)).permute(0, 3, 1, 2)
    p = torch.from_numpy(part)
    cols = []
    for axis in (3, 2):  # d/dx (along W), d/dy (along H)
        diff = torch.diff(t, dim=axis)
        ok = (p.narrow(axis - 1, 1, p.shape[axis - 1] - 1) == p.narrow(axis - 1, 0,
              p.shape[axis - 1] - 1)) & (p.narrow(axis - 1, 0, p.shape[axis - 1] - 1) > 0)
        pad = (0, 1, 0, 0) if axis == 3 else (0, 0, 0, 1)
        diff = F.pad(diff, pad)
        ok = F.pad(ok.float(), pad)[:, None]
        cols.append(_box_mean(diff, ok, window))
    jac = torch.stack(cols, dim=-1)  # [T, 2, H, W, 2]: (u|v, y, x, d/dx|d/dy)
    return jac.permute(0, 2, 3, 1, 4).numpy()


def _nearest_raw(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) of the nearest raw pixel for every pixel of one frame."""
    _, labels = cv2.distanceTransformWithLabels((~raw).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(raw)  # labels number the zero pixels in raster order, from 1
    return ys[labels - 1], xs[labels - 1]


def _fit_in_tile(anchor, step, parts, margin, min_scale, quantile=0.05):
    """Per part, the factor (<= 1) that keeps most extrapolated points inside the part's tile.

    A garment can be larger than the free space left in its tile at the body's texel density;
    clamping the overflow would stack points on the tile border (not one-to-one), so the
    extrapolation of that part is shrunk instead, which keeps its orientation. The quantile
    ignores the few points whose anchor already sits on the tile border.
    """
    lo, hi = atlas.part_bounds(parts, margin)
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(step > 0, (hi - anchor) / step, np.where(step < 0, (lo - anchor) / step,
                                                                  np.inf))
    fit = np.clip(room.min(-1), 0.0, 1.0)
    out = np.ones(len(parts), np.float32)
    for p in np.unique(parts):
        sel = parts == p
        out[sel] = max(min_scale, float(np.quantile(fit[sel], quantile)))
    return out


def extend(uv: np.ndarray, raw: np.ndarray, fg: np.ndarray, config: ExtendConfig | None = None,
           margin: float = 1e-3, log=None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Extend raw UVs (`uv [T, H, W, 2]`, mask `raw [T, H, W]`) to the silhouette `fg`.

    Returns `(uv_e, mask_e, info)`: mask_e is `fg`; raw pixels outside `fg` are dropped;
    `info` has the relaxation's residual force per phase. Frames without any raw pixel have
    nothing to extrapolate from: they come back empty and are listed in `info["empty"]`.
    `log(phase, iteration, residual)` is called now and then.
    """
    config = config or ExtendConfig()
    uv = np.asarray(uv, np.float32)
    raw = np.asarray(raw, bool) & np.asarray(fg, bool)
    fg = np.asarray(fg, bool)
    t_, h, w = raw.shape
    part = part_ids(uv, raw)
    jac = raw_jacobian(uv, part, config.jacobian_window)
    missing = fg & ~raw
    empty = [k for k in range(t_) if not raw[k].any()]
    mask_e = fg.copy()
    for k in empty:
        missing[k] = False
        mask_e[k] = False

    # 1.-2. nearest raw pixel: part id, first-order extrapolation, per-pixel Jacobian
    out = np.where(raw[..., None], uv, 0.0).astype(np.float32)
    part_e = part.copy()
    jac_e = np.zeros((t_, h, w, 2, 2), np.float32)
    for k in range(t_):
        if not missing[k].any():
            continue
        qy, qx = _nearest_raw(raw[k])
        ys, xs = np.nonzero(missing[k])
        ny, nx = qy[ys, xs], qx[ys, xs]
        j = jac[k, ny, nx]
        dx = np.stack([xs - nx, ys - ny], -1).astype(np.float32)
        anchor, step = uv[k, ny, nx], np.einsum("nij,nj->ni", j, dx)
        parts = part[k, ny, nx]
        shrink = _fit_in_tile(anchor, step, parts, margin, config.min_scale)
        out[k, ys, xs] = anchor + shrink[:, None] * step
        part_e[k, ys, xs] = parts
        jac_e[k, ys, xs] = j * shrink[:, None, None]
    lo, hi = atlas.part_bounds(part_e, margin)
    out = np.where(missing[..., None], np.clip(out, lo, hi), out)

    # 3.-4. springs over a sparse stencil of the window, all frames at once
    info = {"empty": empty, "missing": int(missing.sum()), "push": None, "pull": None}
    idx = np.flatnonzero(missing)
    if idx.size:
        out, info["push"], info["pull"] = _relax(out, part_e, jac_e, missing, idx, lo, hi,
                                                 config, log)
    out[~mask_e] = 0.0
    return out.astype(np.float32), mask_e, info


def _relax(uv, part, jac, missing, idx, lo, hi, config, log):
    t_, h, w = missing.shape
    offsets = _rings(config.window)
    tk, yk, xk = np.unravel_index(idx, (t_, h, w))
    ny = yk[:, None] + offsets[None, :, 0]
    nx = xk[:, None] + offsets[None, :, 1]
    inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
    ny, nx = np.clip(ny, 0, h - 1), np.clip(nx, 0, w - 1)
    nbr = np.ravel_multi_index((np.broadcast_to(tk[:, None], ny.shape), ny, nx), (t_, h, w))
    valid = inside & (part.reshape(-1)[nbr] == part.reshape(-1)[idx][:, None]) \
        & (part.reshape(-1)[nbr] > 0)
    # rest length |J (x_q - x_p)| with the new point's extrapolation Jacobian
    j = jac.reshape(-1, 2, 2)[idx]
    off = offsets[:, ::-1].astype(np.float32)  # (dx, dy)
    rest = np.linalg.norm(np.einsum("nij,kj->nki", j, off), axis=-1)

    flat = torch.from_numpy(uv.reshape(-1, 2).copy())
    n, k = nbr.shape
    nbr_flat, idx_t = torch.from_numpy(nbr.reshape(-1)), torch.from_numpy(idx)
    valid_t = torch.from_numpy(valid.astype(np.float32))
    rest_t = torch.from_numpy(rest.astype(np.float32))
    count = valid_t.sum(1, keepdim=True).clamp_min(1.0)
    lo_t = torch.from_numpy(lo.reshape(-1, 2)[idx].astype(np.float32))
    hi_t = torch.from_numpy(hi.reshape(-1, 2)[idx].astype(np.float32))
    scale = (rest_t * valid_t).sum() / valid_t.sum().clamp_min(1.0)  # mean rest length
    residuals = {}
    for phase, iters in (("push", config.push_iters), ("pull", config.pull_iters)):
        res = 0.0
        for it in range(iters):
            p = flat.index_select(0, idx_t)
            d = flat.index_select(0, nbr_flat).view(n, k, 2) - p[:, None]
            length = d.norm(dim=-1).clamp_min(1e-9)
            stretch = length - rest_t
            stretch = stretch.clamp(max=0.0) if phase == "push" else stretch.clamp(min=0.0)
            force = (stretch * valid_t / length)[..., None] * d
            f = force.sum(1) / count
            flat[idx_t] = torch.minimum(torch.maximum(p + config.step * f, lo_t), hi_t)
            # equilibrium: the mean force, relative to the mean rest length
            res = float(f.norm(dim=-1).mean() / scale.clamp_min(1e-12))
            if log is not None and (it % 50 == 0 or it == iters - 1):
                log(phase, it, res)
            if res < config.tolerance:
                break
        residuals[phase] = res
    return flat.numpy().reshape(uv.shape), residuals["push"], residuals["pull"]


def jacobian_determinant(uv: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(det [T, H-1, W-1], valid) of the forward-difference Jacobian of the uv map, valid where
    a pixel and its right and lower neighbours are all masked and in the same part (a sign
    flip there means the map folds over)."""
    part = part_ids(uv, mask)
    p = part[:, :-1, :-1]
    valid = (p > 0) & (part[:, :-1, 1:] == p) & (part[:, 1:, :-1] == p)
    du = uv[:, :-1, 1:] - uv[:, :-1, :-1]
    dv = uv[:, 1:, :-1] - uv[:, :-1, :-1]
    det = du[..., 0] * dv[..., 1] - du[..., 1] * dv[..., 0]
    return det, valid


def texel_collisions(uv: np.ndarray, mask: np.ndarray, size: tuple[int, int],
                     select: np.ndarray | None = None) -> float:
    """Fraction of the `select`ed masked pixels (default: all) whose nearest texel in a
    `size` texture is shared with another masked pixel of the same frame."""
    select = mask if select is None else (select & mask)
    x, y = atlas.texel_xy(uv, size)
    tex = np.clip(np.rint(y), 0, size[0] - 1).astype(np.int64) * size[1] \
        + np.clip(np.rint(x), 0, size[1] - 1).astype(np.int64)
    shared = 0
    for k in range(uv.shape[0]):
        counts = np.bincount(tex[k][mask[k]], minlength=size[0] * size[1])
        shared += int((counts[tex[k][select[k]]] > 1).sum())
    return shared / max(int(select.sum()), 1)
