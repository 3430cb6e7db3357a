"""A notch for the f-voxel lattice of an up-sampled field: `phase_notch`.

An x f up-sampler's high-res voxel (i, j, k) has a sub-cell *phase* (i mod f, j mod f, k mod f).
A network whose detail depends on the phase, even slightly, prints a lattice with period f:
seen as a regular grid of dots over dense smoke (issue 17), and measured as power on the lattice
bins of the spectrum (`billow.metrics.artefacts.lattice_measure`). Such a pattern is a per-phase
factor that varies slowly from cell to cell. `phase_notch` estimates it and divides it out:

- r = y / base: the output relative to the interpolated input, so the input's own smooth
  gradients (which also differ between phases: a ramp does) are not taken for a pattern;
- P_p = the [1, 2, 1]-per-axis blur of r's phase-p voxels over neighbouring low-res cells (the
  slowly varying per-phase level), M = the mean of P over the f^D phases;
- y' = y x M / P_p.

So a pattern `y = s(x) (1 + a_p)` with `s` smooth and `a_p` fixed per phase is removed, and a
field with no phase dependence (`r` the same at every phase of a neighbourhood: the base
itself, a constant gain) passes unchanged. Detail that is not phase-locked loses only what falls
inside the blur's pass band around each lattice frequency. Positive in, positive out; a ratio,
so `phase_notch(k y, base) = k phase_notch(y, base)` and the same for `k base`.

Measured on s28's output, frame 10 of the out-of-family `ood_dense_128` set (session 18,
`/work/notes/notch_probe.py`-style probe; one frame, seen while choosing where to put it):
lattice measure 2.68 -> 0.37, L1 to the reference 0.1076 -> 0.1069. The same blur on y itself
(without dividing by the base) took the smooth ramps out with the lattice: L1 +4-15%.

Whole-field form (`pad=True`): the phase fields are extended by replicating their border cells.
Core-only form (`pad=False`): nothing is padded and one low-res cell of margin is used up on each
side, so a tile computed with one more low-res cell of halo equals the whole-field pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-6  # relative ratios are O(1); this only guards empty phase neighbourhoods


def to_phases(y: torch.Tensor, factor: int) -> torch.Tensor:
    """`(N, 1, *f S)` -> `(N, f^D, *S)`: channel p holds the voxels of sub-cell phase p."""
    n, _, *shape = y.shape
    d, f = len(shape), factor
    low = [s // f for s in shape]
    split = [a for s in low for a in (s, f)]
    # (N, S0, f, S1, f, ...) -> (N, f, f, ..., S0, S1, ...)
    order = [0] + [2 + 2 * a for a in range(d)] + [1 + 2 * a for a in range(d)]
    return y.reshape(n, *split).permute(*order).reshape(n, f ** d, *low)


def from_phases(p: torch.Tensor, factor: int) -> torch.Tensor:
    """The inverse of `to_phases`."""
    n, _, *low = p.shape
    d, f = len(low), factor
    t = p.reshape(n, *([f] * d), *low)
    order = [0] + [a for i in range(d) for a in (1 + d + i, 1 + i)]
    return t.permute(*order).reshape(n, 1, *(s * f for s in low))


def _blur121(p: torch.Tensor, pad: bool) -> torch.Tensor:
    """[1, 2, 1] / 4 per axis, as two 2-wide box filters (fast on a CPU)."""
    d = p.dim() - 2
    pool = F.avg_pool2d if d == 2 else F.avg_pool3d
    if pad:
        p = F.pad(p, (1, 1) * d, mode="replicate")
    return pool(pool(p, 2, stride=1), 2, stride=1)


def phase_notch(y: torch.Tensor, base: torch.Tensor, factor: int,
                pad: bool = True) -> torch.Tensor:
    """`y` `(N, 1, *f S)` without its slowly varying per-phase factor relative to `base` (same
    shape, >= 0). With `pad=False` both carry one low-res cell (`factor` voxels) of margin more
    than the result, and the shapes are multiples of `factor` (a tile's core starts at a
    low-res cell edge)."""
    ratio = to_phases(y / base.clamp_min(EPS), factor)
    level = _blur121(ratio, pad)
    gain = level.mean(dim=1, keepdim=True) / level.clamp_min(EPS)
    if not pad:
        y = F.pad(y, (-factor, -factor) * (y.dim() - 2))
    return y * from_phases(gain, factor)
