"""A temporal filter along the flow for upres'd smoke (`billow steady`): less boiling, the same
large shapes and mass.

An upres invents sub-cell detail frame by frame. Where smoke is dense and slow, the reference's
detail barely changes between frames but the network's is re-drawn a little each frame: out of
family the shipped model's detail changes 1.5-1.6x as much per frame as the real high-res
simulation's there (session 19, `benchmarks/stage_flicker.py`). This filter averages each
frame's output with the previous outputs carried forward along the flow, then restores the
frame's own means over each input cell, so only what is finer than the input is averaged in
time:

    blend_t = sum_k w_k A_k(y_{t-k}) / sum_k w_k      (A_k: k frames of advection, one read)
    out_t   = blend_t x R(box(y_t), box(blend_t))     (R: `project_block_ratios`, two steps)

`w` are the taps, newest first (`1,1,1` averages three frames). It is a causal FIR, not a
recursive filter, so frame t depends on the raw upres of frames t-K+1..t only: a farm chunk
reads the frames before its first from disk and gives exactly what one sequential run gives.
Where a previous frame does not exist (the sequence's start), the taps that remain are used.

Units: density as stored, velocity in cells of the high-res grid per frame (frame t-k's
velocity carries it to t-k+1). The ratio step works in units of the frame's density-weighted
mean density (`billow.ops.normalise`), so steady(k x y) = k x steady(y) for any k > 0.
"""

from __future__ import annotations

import numpy as np
import torch

from .advect import advect_through
from .backproject import block_means, project_block_ratios
from .downsample import blur_sigma, gaussian_blur
from .normalise import frame_scales
from .upsample import interpolate_linear

# steps of `project_block_ratios` after the blend: each closes most of what is left of the
# gap between the blend's cell means and the raw frame's (the shipped model uses two as well)
RATIO_STEPS = 2
# `_restore_detail`: the largest factor on a cell's detail (in units of the frame's
# density-weighted mean density, squared, the floor under both energies)
MAX_DETAIL_GAIN = 2.0
DETAIL_EPS = 1e-8


def parse_taps(text: str) -> list[float]:
    """"1,1,1" -> [1.0, 1.0, 1.0] (newest first); at least one tap, none negative, the first
    positive."""
    try:
        taps = [float(t) for t in text.split(",")]
    except ValueError:
        raise ValueError(f"--taps '{text}': expected comma-separated numbers, newest frame "
                         "first (e.g. 1,1,1)") from None
    if not taps or any(not np.isfinite(t) or t < 0 for t in taps) or taps[0] <= 0:
        raise ValueError(f"--taps '{text}': weights must be 0 or more, the first (the current "
                         "frame's) above 0")
    return taps


def steady_frame(raws: list[np.ndarray], vels: list[np.ndarray], taps: list[float],
                 block: int, keep_detail: bool = True) -> np.ndarray:
    """The filtered current frame. `raws`: the raw upres of frames t-K+1..t (oldest first,
    K <= len(taps), each `[x, y, z]` on one block whose sides are multiples of `block`);
    `vels`: each of those frames' velocity `[3, x, y, z]` (the current frame's is not used);
    `block`: high-res cells per input cell (the upres factor); `keep_detail`: restore the
    raw frame's detail energy per cell after the blend (`_restore_detail`)."""
    if len(raws) != len(vels) or not raws or len(raws) > len(taps):
        raise ValueError("steady_frame: one velocity per frame, 1..len(taps) frames")
    if any(n % block for n in raws[-1].shape):
        raise ValueError(f"steady_frame: block {raws[-1].shape} is not a multiple of {block}")
    current = torch.from_numpy(np.ascontiguousarray(raws[-1], np.float32))[None, None]

    def velocity(j):
        return torch.from_numpy(np.ascontiguousarray(vels[j], np.float32))[None]

    scale, _ = frame_scales(raws[-1], None)
    acc = taps[0] * current
    total = taps[0]
    k_max = len(raws) - 1
    for k in range(1, k_max + 1):
        if taps[k] == 0:
            continue
        y = torch.from_numpy(np.ascontiguousarray(raws[-1 - k], np.float32))[None, None]
        # frames t-k..t-1 carry it to t, with one read of its detail (`advect_through`)
        y = advect_through(y, [velocity(j) for j in range(len(raws) - 1 - k, len(raws) - 1)])
        acc = acc + taps[k] * y
        total += taps[k]
    if total == taps[0]:  # no history: the frame as it is
        return np.ascontiguousarray(raws[-1], np.float32)
    blend = (acc / total) / scale
    low = block_means(current / scale, block)
    for _ in range(RATIO_STEPS):
        blend = project_block_ratios(blend, low, block)
    if keep_detail:
        blend = _restore_detail(blend, current / scale, block)
        for _ in range(RATIO_STEPS):
            blend = project_block_ratios(blend, low, block)
    return (blend * scale)[0, 0].numpy()


def _restore_detail(blend: torch.Tensor, raw: torch.Tensor, block: int) -> torch.Tensor:
    """The blend's detail (what the training blur removes) scaled, cell by cell, back to the
    raw frame's energy: averaging frames whose detail is not perfectly aligned weakens it, and
    the steadier pattern should keep the network's amplitude. The gain is smooth (a linear
    up-sampling of each cell's factor) and at most MAX_DETAIL_GAIN."""
    sigma = blur_sigma(block)
    base = gaussian_blur(blend, sigma)
    detail = blend - base
    raw_detail = raw - gaussian_blur(raw, sigma)
    e_raw, e_blend = block_means(raw_detail ** 2, block), block_means(detail ** 2, block)
    gain = ((e_raw + DETAIL_EPS) / (e_blend + DETAIL_EPS)).sqrt().clamp(1.0, MAX_DETAIL_GAIN)
    return (base + detail * interpolate_linear(gain, block)).clamp_min(0.0)
