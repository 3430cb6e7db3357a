"""Temporal coherence of a sequence (dissertation Sec. 3.2.3, Fig. 3.2).

Smoke is transported, so a coherent sequence satisfies y^t ~ A(y^{t-1}, v^{t-1}) (the relation
behind Eq. 3.3-3.5), with A the same advection operator the training uses (`billow.ops.advect`).

- `advected_residual`: ||y^t - A(y^{t-1}, v^{t-1})||_1 / ||y^t||_1, relative so that an output
  cannot look coherent by being darker (the failure of L_2,t noted under Eq. 3.4). Compare it
  with the reference's residual under the same velocity: the ratio is 1 for reference-like
  coherence, >1 for flicker or popping detail.
- `flicker`: RMS of the high-pass part of the time derivative y^t - y^{t-1}, relative to the RMS
  of the high-pass part of y^t: the share of a frame's fine detail that changes per frame.
  High-pass = minus the training blur (sigma = f / (2 sqrt(pi))), i.e. detail finer than the
  input resolves. Detail re-invented every frame (a per-frame GAN without D_t) changes by its
  whole amplitude, flicker ~ sqrt(2): the "jagged, noisy" derivatives of Fig. 3.2. Detail that
  moves with the flow changes in proportion to its speed, so compare with the reference's.
- `detail_residual`: the same with the previous frame advected first, RMS(high-pass(y^t -
  A(y^{t-1}, v))) / RMS(high-pass(y^t)): the share of the fine detail that transport does not
  explain (0 for detail carried by the flow, ~sqrt(2) for re-invented detail).
- `time_derivative`: the finite difference y^{t+1} - y^t of Fig. 3.2 (see `render.signed_rgb`).

Fields are one frame over spatial axes `[x, y(, z)]`; velocity is `[D, x, y(, z)]`, component d
along axis d, in cells of the field's own grid per frame.
"""

from __future__ import annotations

import math

import torch

from ..ops import advect, gaussian_blur
from ..ops.downsample import blur_sigma
from .fields import as_tensor


def advect_frame(previous, velocity, order: str = "semi-lagrangian") -> torch.Tensor:
    """A(y^{t-1}, v): one frame advected by one frame's worth of velocity."""
    y, v = as_tensor(previous), as_tensor(velocity)
    if v.shape[0] != y.dim() or v.shape[1:] != y.shape:
        raise ValueError(f"advect_frame: velocity {tuple(v.shape)} does not match the field "
                         f"{tuple(y.shape)} (expected ({y.dim()}, *field shape))")
    return advect(y[None, None], v[None], 1.0, order)[0, 0]


def advected_residual(previous, current, velocity, order: str = "semi-lagrangian") -> float:
    """||y^t - A(y^{t-1}, v^{t-1})||_1 / ||y^t||_1 (nan for an empty frame)."""
    cur = as_tensor(current)
    pred = advect_frame(previous, velocity, order)
    norm = float(cur.abs().sum())
    return float((cur - pred).abs().sum()) / norm if norm > 0 else math.nan


def high_pass(field, factor: int) -> torch.Tensor:
    """The part of a field finer than an f-times coarser grid resolves: y - G_sigma * y."""
    y = as_tensor(field)
    return y - gaussian_blur(y[None, None], blur_sigma(factor))[0, 0]


def flicker(previous, current, factor: int) -> float:
    """RMS(high-pass(y^t - y^{t-1})) / RMS(high-pass(y^t)) (nan without fine detail)."""
    prev, cur = as_tensor(previous), as_tensor(current)
    detail = float(high_pass(cur, factor).pow(2).mean().sqrt())
    if detail == 0:
        return math.nan
    return float(high_pass(cur - prev, factor).pow(2).mean().sqrt()) / detail


def detail_residual(previous, current, velocity, factor: int,
                    order: str = "semi-lagrangian") -> float:
    """RMS(high-pass(y^t - A(y^{t-1}, v))) / RMS(high-pass(y^t))."""
    return flicker(advect_frame(previous, velocity, order), current, factor)


def _rms(t: torch.Tensor) -> float:
    return float(t.pow(2).mean().sqrt())


def coherence(previous, current, velocity, factor: int, order: str = "semi-lagrangian",
              hp_previous: torch.Tensor | None = None) -> tuple[dict[str, float], torch.Tensor]:
    """`advected_residual`, `flicker` and `detail_residual` of one frame pair at once, sharing
    the advection and the blurs (high_pass is linear); pass the `hp_previous` this returned for
    the previous pair to save one more blur. Without a velocity only the flicker is computed.
    Returns (metrics, high_pass(current))."""
    prev, cur = as_tensor(previous), as_tensor(current)
    hp_prev = high_pass(prev, factor) if hp_previous is None else hp_previous
    hp_cur = high_pass(cur, factor)
    norm, detail = float(cur.abs().sum()), _rms(hp_cur)
    out = {"residual": math.nan,
           "flicker": _rms(hp_cur - hp_prev) / detail if detail > 0 else math.nan,
           "detail_residual": math.nan}
    if velocity is not None:
        moved = advect_frame(prev, velocity, order)
        if norm > 0:
            out["residual"] = float((cur - moved).abs().sum()) / norm
        if detail > 0:
            out["detail_residual"] = _rms(hp_cur - high_pass(moved, factor)) / detail
    return out, hp_cur


def time_derivative(current, following) -> torch.Tensor:
    """y^{t+1} - y^t (Fig. 3.2's bottom rows)."""
    return as_tensor(following) - as_tensor(current)
