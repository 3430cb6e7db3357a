"""Back-projection onto block means (Irani & Peleg 1991): make an up-sampled field's
factor^D block means equal the low-res cells they came from.

Why: box-averaged (or any mass-conserving) low-res smoke states each block's mean exactly, and
interpolation does not keep it: tricubic followed by three of these steps is 0.90-0.97x
tricubic's L1 to the high-res reference on the out-of-family sets
(benchmarks/ood_results_smooth.md, session 7). The networks end with it (so their
invented detail cannot change the total density or the render's brightness) and the
`tricubic-bp` baseline is tricubic plus three steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .upsample import interpolate_linear


def block_means(y: torch.Tensor, factor: int) -> torch.Tensor:
    """Means over `factor`^D blocks of `(N, C, *S)`; half precision is averaged in float32
    (torch's CPU average pooling has no bfloat16 kernel, and 64 bf16 terms would lose the
    mean's digits)."""
    pool = F.avg_pool2d if y.dim() == 4 else F.avg_pool3d
    if y.dtype in (torch.float16, torch.bfloat16):
        return pool(y.float(), factor).to(y.dtype)
    return pool(y, factor)


def project_block_means(y: torch.Tensor, low: torch.Tensor, factor: int) -> torch.Tensor:
    """One back-projection step: add the cell-centred linear up-sampling of `low - the mean of
    y over each factor^D block`, then clamp at 0.

    The correction is a smooth field (a block-constant one would print the factor-voxel
    lattice), so one step pulls the block means closer rather than pinning them; each further
    step closes most of what is left. Linear up-sampling keeps mass (its weights sum to factor
    per axis, borders clamp), so the total density is the input's up to the clamp, which only
    adds where a correction overshoots; linearity keeps amplitude equivariance. The
    up-sampling reads the neighbouring cell: one more low-res cell of receptive radius per
    step. Tiles stay exact because blocks are aligned with the low-res cells."""
    return F.relu(y + interpolate_linear(low - block_means(y, factor), factor))


# project_block_ratios: keeps empty blocks of an empty input at ratio 1; in the network's
# normalised density units (whole-frame scale ~1), so it does not depend on the data's units
RATIO_EPS = 1e-3


def project_block_ratios(y: torch.Tensor, low: torch.Tensor, factor: int,
                         up=interpolate_linear) -> torch.Tensor:
    """One multiplicative back-projection step: multiply `y` by the cell-centred linear
    up-sampling of `(low + eps) / (the mean of y over each factor^D block + eps)`.

    The additive step (`project_block_means`) must clamp at 0 where its correction overshoots,
    and a clamp is where a 4x upres prints its 4-voxel lattice (session 12,
    `benchmarks/lattice_stages.py`). A positive `y` times a positive field stays positive with
    no clamp; linear up-sampling of a positive ratio is positive. Where y is 0 it stays 0, so
    it moves detail's amplitude, not its support. Mass is pulled towards the input's, not
    pinned; further steps close most of what is left. `up`: the up-sampling of the ratio
    (`interpolate_smooth` for models with the smooth base, whose kinks it would otherwise
    print back)."""
    return y * up(block_ratio(low, block_means(y, factor)), factor)


def block_ratio(low: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """The low-res factor `project_block_ratios` up-samples (also used by the tiled path)."""
    return (low + RATIO_EPS) / (means + RATIO_EPS)
