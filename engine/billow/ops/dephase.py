"""A notch for the f-voxel lattice of an up-sampled field: `phase_notch`.

An x f up-sampler's high-res voxel (i, j, k) has a sub-cell *phase* (i mod f, j mod f, k mod f).
A network whose detail depends on the phase, even slightly, prints a lattice with period f:
seen as a regular grid of dots over dense smoke (issue 17), and measured as power on the lattice
bins of the spectrum (`billow.metrics.artefacts.lattice_measure`). Such a pattern is a per-phase
factor that varies slowly from cell to cell. `phase_notch` estimates it and divides it out:

- P_p = the level of y relative to the interpolated input `base` at phase p, from the
  neighbouring low-res cells: [1, 2, 1] per axis without the centre, of y's phase-p voxels over
  the same of base's. Relative to the base, so the input's own smooth gradients (which differ
  between phases too: a ramp does) are not taken for a pattern; weighted by the base, so thin
  smoke does not make it noisy; without the centre, so a cell's own detail is not taken out;
- H = the harmonic mean of P over the f^D phases (keeps the total where detail and level are
  independent);
- y' = y x H / P_p.

So a pattern `y = base (1 + a_p) c` with `a_p` fixed per phase and `c` constant is removed
exactly, and `y = c base` passes unchanged. Positive in, positive out; a ratio, so
`phase_notch(k y, base) = k phase_notch(y, base)` and the same for `k base`.

How it was chosen (session 18, `benchmarks/ood_results_smooth.md`): a first form (the blur of
y / base with its centre tap, the arithmetic mean, no projection after it) took s28's lattice
inside dense out-of-family smoke from 2.61x the reference's to 0.60x, but lost up to 2.1% of
the mass on thin smoke and made a lattice at the edges of wisps. Without the centre tap, with the
base weighting and the harmonic mean, and followed by one more block projection (what
`--lattice-notch` does), the lattice inside dense smoke fell to 0.48x with the mass within 1.2%.

Whole-field form (`pad=True`): the phase fields are extended by replicating their border cells.
Core-only form (`pad=False`): nothing is padded and one low-res cell of margin is used up on each
side, so a tile computed with one more low-res cell of halo equals the whole-field pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-6  # relative levels are O(1); this only guards empty phase neighbourhoods
TINY = 1e-30  # a base of 0 over a whole neighbourhood: y is 0 there too


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


def _neighbours(p: torch.Tensor, pad: bool) -> torch.Tensor:
    """The [1, 2, 1]-per-axis blur without its centre tap (weights sum to 1 - 2^-D): each
    cell's estimate comes from its neighbours only, so it does not follow the cell's own detail
    (with the centre in, the notch took 1/8 of every cell's detail along with the lattice and
    lost mass wherever the detail was strong)."""
    centre = 0.5 ** (p.dim() - 2)
    q = _blur121(p, pad)
    return q - centre * (p if pad else F.pad(p, (-1, -1) * (p.dim() - 2)))


def phase_notch(y: torch.Tensor, base: torch.Tensor, factor: int,
                pad: bool = True) -> torch.Tensor:
    """`y` `(N, 1, *f S)` without its slowly varying per-phase factor relative to `base` (same
    shape, >= 0). With `pad=False` both carry one low-res cell (`factor` voxels) of margin more
    than the result, and the shapes are multiples of `factor` (a tile's core starts at a
    low-res cell edge)."""
    dtype = y.dtype
    if dtype in (torch.float16, torch.bfloat16):  # no CPU half pooling; ratios want fp32
        y, base = y.float(), base.float()
    # per-phase level: neighbours' y over neighbours' base (a base-weighted mean of the ratio,
    # so thin smoke where the base nears 0 does not make it noisy)
    level = (_neighbours(to_phases(y, factor), pad)
             / _neighbours(to_phases(base, factor), pad).clamp_min(TINY))
    level = level.clamp_min(EPS)
    # the harmonic mean over phases: sum_p y_p H / P_p then keeps the total where y and P are
    # independent (an arithmetic mean would add mass by Jensen's inequality)
    harmonic = level.shape[1] / level.reciprocal().sum(dim=1, keepdim=True)
    if not pad:
        y = F.pad(y, (-factor, -factor) * (y.dim() - 2))
    return (y * from_phases(harmonic / level, factor)).to(dtype)
