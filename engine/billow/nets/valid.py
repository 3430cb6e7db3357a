"""Core-only ("valid") execution of a fully convolutional network on a tile with a halo.

A tile's input is its core plus `halo` cells of neighbours on each side. The padded forward
pass computes the output of that whole window and the tiler keeps the core; here every stage
computes only the cells that something downstream still needs, so the tile yields exactly its
core. A tensor carries its `margin`: how many cells (at its own resolution) beyond the core it
still holds on each side. Each stage states what it costs:

- a convolution of radius r without padding: margin m -> m - r (every output cell sees only
  real input cells, so it is the same sum as in the padded pass);
- a cell-centred linear up-sampling x f (`billow.ops.interpolate_linear`): margin m ->
  f m - f // 2 (the f // 2 outer cells of each side are the only ones that clamp at the
  window's border, so the rest equal the padded pass's cells);
- a sub-voxel shuffle x f (`billow.nets.fields.voxel_shuffle`): margin m -> f m (it only
  rearranges channels into space);
- a smooth up-sampling x f (`billow.ops.interpolate_smooth`: linear, then an (f + 1)-tap
  blur, reaching one cell): margin m -> f (m - 1);
- a cell-centred Catmull-Rom up-sampling x f (`billow.ops.interpolate_cubic`): margin m ->
  f (m - 2) (its 5-tap phases read 2 cells on each side);
- an average pooling / f (`pool`, to low-res blocks): margin m -> m // f (the kept blocks
  are whole blocks of the core's grid: a core starts at a block edge);
- a pointwise step or a sum: margin unchanged (a sum first crops its terms to the smaller).

`need(stages, m)` runs the costs backwards: the margin a chain's input must have for its output
to keep margin m, so a branch is cropped to that before it runs (no work beyond it). A new
final stage states its own cost the same way; a projection onto the input's block means,
`y = relu(y0 + interp(x - pool(y0, 4), 4))`, would be in core-only form

    k = need([("interp", 4)], 0)  # low-res cells of margin the final interpolation reads: 1
    y0 = Margin(g.forward_core(x, halo, margin=4 * k), 4 * k, 4)
    low = add(Margin(x[:, :1], halo), pool(y0, 4).map(torch.neg))
    y = add(y0, interp(low, 4)).crop(0).map(F.relu).t

with the card's halo grown by k (forward_core needs its own radius + k).

Bit-identity with the padded pass (what `tests/nets/test_valid.py`,
`tests/infer/test_core_only.py` and `benchmarks/upres_speed.py` check): each kept cell is
computed from the same inputs by the same operator; the convolution libraries may still block a
sum differently for another shape, so the tests compare the two on the backends billow ships
with.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import block_means, interpolate_cubic, interpolate_linear, interpolate_smooth


class Margin:
    """A field `t` `(N, C, *S)` holding `m` cells beyond the core on each side, at `level` x
    the low-res resolution."""

    __slots__ = ("t", "m", "level")

    def __init__(self, t: torch.Tensor, m: int, level: int = 1):
        if m < 0:
            raise ValueError(f"a tile's halo is too small for this network (margin {m})")
        self.t, self.m, self.level = t, m, level

    def crop(self, m: int) -> "Margin":
        """The same field with only `m` cells of margin left."""
        if m > self.m:
            raise ValueError(f"a tile's halo is too small for this network: {m} cells of "
                             f"margin needed at x{self.level}, {self.m} left")
        if m == self.m:
            return self
        k = self.m - m
        # a negative padding: one copy (and one ONNX node), where slicing axis by axis
        # exports as a Slice per axis, each copying the whole field
        return Margin(F.pad(self.t, (-k, -k) * (self.t.dim() - 2)), m, self.level)

    def map(self, fn) -> "Margin":
        """A pointwise function of the field (ReLU, a gain): margin unchanged."""
        return Margin(fn(self.t), self.m, self.level)


def conv_cost(layer: nn.Module) -> int:
    """Cells of margin a convolution uses up on each side (its radius)."""
    return (layer.kernel_size[0] - 1) // 2


def conv(layer: nn.Module, x: Margin) -> Margin:
    """`layer` (a Conv2d/Conv3d with odd kernel, stride 1) without its padding."""
    r = conv_cost(layer)
    fn = F.conv2d if x.t.dim() == 4 else F.conv3d
    return Margin(fn(x.t, layer.weight, layer.bias), x.m - r, x.level)


def interp_cost(factor: int) -> int:
    """Cells (at the fine resolution) of each side that clamp at the window's border."""
    return factor // 2


def interp(x: Margin, factor: int, keep: int | None = None) -> Margin:
    """`interpolate_linear(x, factor)`, keeping only the cells the padded pass computes from
    real neighbours (`keep`: fewer, in one cut: the fine field is the largest of a pass)."""
    fine = Margin(interpolate_linear(x.t, factor), factor * x.m, x.level * factor)
    most = factor * x.m - interp_cost(factor)
    if keep is not None and keep > most:
        raise ValueError(f"a tile's halo is too small for this network: {keep} cells of "
                         f"margin needed at x{fine.level}, {most} left")
    return fine.crop(most if keep is None else keep)


def smooth(x: Margin, factor: int, keep: int | None = None) -> Margin:
    """`interpolate_smooth(x, factor)` without its border padding: its taps reach one cell, so
    `factor` (m - 1) fine cells of margin remain (`keep`: fewer)."""
    fine = Margin(interpolate_smooth(x.t, factor, pad=False), factor * (x.m - 1),
                  x.level * factor)
    return fine if keep is None else fine.crop(keep)


def cubic(x: Margin, factor: int, keep: int | None = None) -> Margin:
    """`interpolate_cubic(x, factor)` without its border padding: the Catmull-Rom taps reach
    2 cells, so `factor` (m - 2) fine cells of margin remain (`keep`: fewer)."""
    fine = Margin(interpolate_cubic(x.t, factor, pad=False), factor * (x.m - 2),
                  x.level * factor)
    return fine if keep is None else fine.crop(keep)


def shuffle(x: Margin, factor: int) -> Margin:
    """`voxel_shuffle(x, factor)`: every kept cell stays a kept cell."""
    from .fields import voxel_shuffle

    return Margin(voxel_shuffle(x.t, factor), factor * x.m, x.level * factor)


def pool(x: Margin, factor: int) -> Margin:
    """Means over `factor`^D blocks (F.avg_pool), keeping whole blocks of the core's grid."""
    x = x.crop(x.m - x.m % factor)
    return Margin(block_means(x.t, factor), x.m // factor, x.level // factor)


def add(a: Margin, b: Margin) -> Margin:
    m = min(a.m, b.m)
    return Margin(a.crop(m).t + b.crop(m).t, m, a.level)


def combine(a: Margin, b: Margin, fn) -> Margin:
    """`fn(a, b)` voxel by voxel (same level) on the margin both have."""
    m = min(a.m, b.m)
    return Margin(fn(a.crop(m).t, b.crop(m).t), m, a.level)


def need(stages: list[tuple[str, int]], m: int) -> int:
    """Margin the input of `stages` (in order; ("conv", radius), ("interp", factor),
    ("cubic", factor), ("smooth", factor), ("shuffle", factor) or ("pool", factor)) must have
    for the output to keep `m` cells of margin."""
    for kind, k in reversed(stages):
        if kind == "conv":
            m += k
        elif kind == "shuffle":
            m = -(-m // k)
        elif kind == "pool":
            m = k * m
        elif kind == "cubic":
            m = -(-m // k) + 2
        elif kind == "interp":
            m = -(-(m + interp_cost(k)) // k)  # the smallest input margin a: k a - k // 2 >= m
        elif kind == "smooth":
            m = -(-m // k) + 1
        else:
            raise ValueError(f"unknown stage {kind!r}")
    return m


def core(x: torch.Tensor, halo: int, run) -> torch.Tensor:
    """`run(Margin(x, halo))` down to its core (margin 0): the core-only output of a tile."""
    return run(Margin(x, halo)).crop(0).t


class CoreOnly(nn.Module):
    """A generator's core-only pass as a module (`forward(x)` = its `forward_core(x, halo)`),
    for the torch backend and for exporting the core-only graph to ONNX."""

    def __init__(self, generator: nn.Module, halo: int):
        super().__init__()
        self.generator, self.halo = generator, halo

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator.forward_core(x, self.halo)
