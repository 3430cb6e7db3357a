"""Generators G(x): low-res density + velocity -> 4x density (dissertation ch. 3, App. A.1).

Both are fully convolutional, so a tile with a halo of `receptive_radius` low-res cells on each
side gives exactly the whole-volume voxels of its core (DESIGN.md "Tiling without seams").

- `PaperGenerator`: App. A.1 verbatim: nearest-neighbour x2 x2 first, four residual blocks of
  5^D convolutions at full high resolution, BN except in the last block, ReLU output.
  About 3.2 M multiply-adds per output voxel in 3D; kept for comparison.
- `SmoothGenerator` ("smooth", the shipped 3D model since issue 17): the low-res trunk of
  `FastGenerator`, but up-sampled by resize-convolutions (trilinear x2, 3^D conv, ReLU,
  trilinear x2, 3^D conv, ReLU, 1^D conv) instead of sub-voxel shuffles. A shuffle gives
  every one of the 4^D sub-voxel phases its own weights, and a short training leaves a fixed
  per-phase offset: the 4-voxel lattice of dots and the stair-stepped edges seen on smoke
  billow did not simulate. Resize-convolutions share one set of weights over all phases.
- `FastGenerator`: the same inputs, but all heavy convolutions run at LOW resolution
  (EDSR-style residual trunk, no BN anywhere, so inference cannot depend on batch statistics);
  two late sub-voxel shuffles (x2, a small 3^D conv at x2, x2) produce a residual that is added
  to the linearly interpolated low-res density (aligned with the cell centres), then ReLU.

Input: `(N, 1 + D, *S)` = density, velocity (low-res cells per frame, component d along axis
d). Velocity scaling and the optional vorticity channel(s) are computed INSIDE the network, so
the ONNX contract stays "raw density + velocity" and no host can get the axes wrong.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import option
from ..ops import (
    curl,
    interpolate_cubic,
    interpolate_linear,
    interpolate_nearest,
    interpolate_smooth,
    project_block_means,
    project_block_ratios,
)
from ..ops.backproject import block_ratio
from ..ops.dephase import phase_notch
from . import valid
from .fields import voxel_shuffle
from .registry import GENERATORS, build_generator, register

FACTOR = 4
# The art-direction channel of gated models: per-voxel factor on the speed the detail gate reads
# (--velocity-scale, blended by --mask); 1 is the model as trained, 0 no invented detail.
DETAIL_CHANNEL = "detail"


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """Generator architecture (saved with every run and in every model card)."""

    generator: str = option("fast", "generator architecture: 'smooth' (low-res trunk, "
                            "resize-convolution up-sampling: no 4-voxel lattice), 'fast' "
                            "(low-res trunk, late sub-voxel shuffle) or 'paper' (App. A.1)",
                            choices=GENERATORS.keys())  # a live view of the one registry
    dim: int = option(3, "spatial dimensions of the data", choices=(2, 3))
    use_velocity: bool = option(True, "feed the low-res velocity to the generator (Sec. 3.3.3)")
    use_vorticity: bool = option(False, "also feed the vorticity, derived inside the network "
                                 "from the velocity (so augmentation keeps it valid)")
    velocity_scale: float = option(1.0, "input normalisation: velocity (low-res cells/frame) is "
                                   "multiplied by this inside the network")
    width: int = option(64, "fast generator: channels of the low-res trunk")
    blocks: int = option(4, "fast generator: residual blocks of the low-res trunk")
    mid_channels: int = option(16, "fast/smooth generator: channels at 2x resolution")
    fine_channels: int = option(8, "smooth generator: channels at 4x resolution")
    normalise: str = option("none", "input normalisation: 'frame' divides density and velocity "
                            "by whole-frame statistics (billow.ops.normalise) and multiplies "
                            "the density back, so the model works at any density amplitude "
                            "and speed; 'none' feeds raw values", choices=("none", "frame"))
    detail_gate: str = option("none", "smooth generator: 'speed' splits the residual into a "
                              "structure part and a detail part whose amplitude follows the "
                              "local speed the network is given (SPEED_GATE), so invented "
                              "detail follows the velocity and --velocity-scale; 'none': one "
                              "residual", choices=("none", "speed"))
    projection: str = option("none", "smooth generator: 'block' adds the linearly up-sampled "
                             "difference between the input density and the 4^D block means of "
                             "the output (iterative back-projection), so every block keeps the "
                             "input's density: total density and rendered brightness follow "
                             "the input whatever the detail does; 'none': the raw output",
                             choices=("none", "block"))
    projection_steps: int = option(1, "smooth generator with projection 'block': back-projection "
                                   "steps (each brings the block means closer to the input's "
                                   "and adds one low-res cell of halo)")
    output_form: str = option(
        "clamp", "smooth generator: how the residual r meets the interpolated base b: 'clamp' "
        "is ReLU(b + r) and additive back-projection (clamped at 0); 'gain' is b x "
        "exp(3 tanh(r / 3)) and multiplicative back-projection, positive with no clamp (the "
        "clamps are where the 4-voxel lattice formed, sessions 12-13); needs the linear base",
        choices=("clamp", "gain"))
    base_interpolation: str = option(
        "linear", "smooth generator: the interpolated density the residual is added to: "
        "'linear', 'tricubic' (Catmull-Rom; with 3 block projection steps it starts 3-10% "
        "closer to the reference than plain tricubic on box-averaged input, where linear starts "
        "5-14% further: benchmarks/base_l1.py) or 'smooth' (linear, then a 1-voxel binomial "
        "blur: no kink at the cell centres for the gain form to print as a 4-voxel lattice; "
        "the gain form's projection then up-samples with it too)",
        choices=("linear", "tricubic", "smooth"))
    tail_upsampling: str = option(
        "linear", "smooth generator: how the residual branch's two x2 up-samplings (after the "
        "low-res trunk) interpolate: 'linear' (every model to session 16) or 'smooth' (linear, "
        "then a [1, 2, 1] blur: no kink every other fine voxel for the convolutions after it "
        "to turn into a 4-voxel lattice; one more low-res cell of halo)",
        choices=("linear", "smooth"))
    lattice_notch: bool = option(
        False, "smooth generator, gain form: divide out the output's slowly varying "
        "per-phase factor relative to the base, then one more block projection, as its last "
        "steps (billow.ops.dephase: a notch for the 4-voxel lattice, which removes the "
        "pattern by construction whatever the network learned; needs --projection block; "
        "two more low-res cells of halo)")

    @property
    def slider_input(self) -> bool:
        """Whether the exported model takes the art-direction factor as its own last channel,
        `detail` (`SmoothGenerator.forward`): models with a speed gate do, so the slider
        reaches the gate alone and the trunk always reads the velocity as trained."""
        return self.generator == "smooth" and self.detail_gate == "speed" and self.use_velocity

    @property
    def in_channels(self) -> int:
        """Channels of the model input (what ONNX receives)."""
        return len(self.channel_names)

    @property
    def channel_names(self) -> list[str]:
        names = ["density"]
        if self.use_velocity:
            names += [f"vel.{a}" for a in "xyz"[: self.dim]]
        if self.slider_input:
            names.append(DETAIL_CHANNEL)
        return names


def _conv(dim: int):
    return nn.Conv2d if dim == 2 else nn.Conv3d


def _bn(dim: int):
    return nn.BatchNorm2d if dim == 2 else nn.BatchNorm3d


class _InputFields(nn.Module):
    """density, velocity -> density, scaled velocity [, vorticity] (derived channel)."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        self.channels = 1
        if cfg.use_velocity:
            self.channels += cfg.dim
            if cfg.use_vorticity:
                self.channels += 1 if cfg.dim == 2 else 3
        self.radius = 1 if cfg.use_velocity and cfg.use_vorticity else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.cfg.use_velocity:
            return x[:, :1]
        v = x[:, 1: 1 + self.cfg.dim]
        parts = [x[:, :1], v * self.cfg.velocity_scale]
        if self.cfg.use_vorticity:
            parts.append(curl(v) * self.cfg.velocity_scale)
        return torch.cat(parts, dim=1)


class _PaperBlock(nn.Module):
    """RB: [(in -> C_A -> BN -> ReLU -> C_B -> BN) + (in -> C_S -> BN)] -> ReLU (App. A.1)."""

    def __init__(self, dim, c_in, c_mid, c_out, bn: bool, first: bool):
        super().__init__()
        conv = _conv(dim)
        self.a = conv(c_in, c_mid, 5, padding=2)
        self.b = conv(c_mid, c_out, 5, padding=2)
        self.s = conv(c_in, c_out, 1)
        norm = _bn(dim) if bn else (lambda c: nn.Identity())
        self.bn_a, self.bn_b, self.bn_s = norm(c_mid), norm(c_out), norm(c_out)
        self.first = first  # its input is the network input (no ReLU before it)

    def forward(self, x):
        h = self.bn_b(self.b(F.relu(self.bn_a(self.a(x)))))
        return F.relu(h + self.bn_s(self.s(x)))


def _bn_eval(bn: nn.Module, t: torch.Tensor) -> torch.Tensor:
    """BN with its running statistics (the reverse pass must not update them)."""
    if isinstance(bn, nn.Identity):
        return t
    return F.batch_norm(t, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                        training=False, eps=bn.eps)


class PaperGenerator(nn.Module):
    """App. A.1: in(16, C) -> NI(64) -> RB0..RB3 (5^D convs) -> out(64, 1)."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        self.fields = _InputFields(cfg)
        c = self.fields.channels
        d = cfg.dim
        self.blocks = nn.ModuleList([
            _PaperBlock(d, c, 8, 32, True, True),
            _PaperBlock(d, 32, 128, 128, True, False),
            _PaperBlock(d, 128, 32, 8, True, False),
            _PaperBlock(d, 8, 2, 1, False, False),  # no BN in the last block
        ])

    @property
    def receptive_radius(self) -> int:
        """Halo in low-res cells: 8 convs of radius 2 at high res, the nearest up-sampling,
        and the vorticity stencil."""
        return math.ceil(8 * 2 / FACTOR) + self.fields.radius

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = interpolate_nearest(self.fields(x), FACTOR)
        for block in self.blocks:
            h = block(h)
        return h  # the last block ends in ReLU: output density >= 0

    def rr_chains(self):
        """Reverse-pass chains (ch. 4): each [(conv, act)] maps a conv's transposed output
        back into the space of its input; the residual sum is not invertible, so chains stop
        at block boundaries (local variant across them, Eq. 4.17)."""
        chains = []
        for blk in self.blocks:
            act_in = (lambda t: t) if blk.first else F.relu
            after_a = lambda t, bn=blk.bn_a: F.relu(_bn_eval(bn, t))
            chains.append([(blk.a, act_in), (blk.b, after_a)])
            chains.append([(blk.s, act_in)])
        return chains


class _ResBlock(nn.Module):
    """h + C_2(ReLU(C_1(h))), no normalisation (EDSR)."""

    def __init__(self, dim, width):
        super().__init__()
        conv = _conv(dim)
        self.c1 = conv(width, width, 3, padding=1)
        self.c2 = conv(width, width, 3, padding=1)

    def forward(self, h):
        return h + self.c2(F.relu(self.c1(h)))


def _trunk_features(g: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """head -> ReLU -> residual blocks: the low-res trunk shared by the fast and smooth
    generators."""
    h = F.relu(g.head(g.fields(x)))
    for block in g.trunk:
        h = block(h)
    return h


def _trunk_core(g: nn.Module, x: torch.Tensor, halo: int, margin: int):
    """`_trunk_features` of a tile's window `x` (`halo` cells beyond the core) computed only
    `margin` low-res cells beyond the core (a `billow.nets.valid.Margin`)."""
    low = g.fields.radius + 1 + 2 * len(g.trunk) + margin  # what the trunk's input needs
    f = valid.Margin(g.fields(x), halo).crop(halo - g.fields.radius)
    h = valid.conv(g.head, f.crop(low - g.fields.radius)).map(F.relu)
    for block in g.trunk:
        h = valid.add(h, valid.conv(block.c2, valid.conv(block.c1, h).map(F.relu)))
    return h


# base_interpolation -> (whole-field up-sampling, its core-only form, its `valid.need` stage)
_BASES = {"linear": (interpolate_linear, valid.interp, "interp"),
          "tricubic": (interpolate_cubic, valid.cubic, "cubic"),
          "smooth": (interpolate_smooth, valid.smooth, "smooth")}


def _base(x: torch.Tensor, kind: str = "linear") -> torch.Tensor:
    """The interpolated low-res density a residual is added to."""
    return _BASES[kind][0](x[:, :1], FACTOR)


def _base_core(x: torch.Tensor, halo: int, margin: int, kind: str = "linear") -> torch.Tensor:
    """`_base` of a tile's window, its core plus `margin` output cells."""
    _, core, stage = _BASES[kind]
    inp = valid.Margin(x[:, :1], halo).crop(valid.need([(stage, FACTOR)], margin))
    return core(inp, FACTOR, margin).t


def _trunk_chains(g: nn.Module) -> list:
    """Reverse-pass chains of the shared trunk (head, then each block's c1 -> c2)."""
    ident = lambda t: t
    chains = [[(g.head, ident)]]
    for i, b in enumerate(g.trunk):
        # input of c1 is the running sum h (ReLU only before the first block)
        chains.append([(b.c1, F.relu if i == 0 else ident), (b.c2, F.relu)])
    return chains


class FastGenerator(nn.Module):
    """Low-res trunk -> C -> shuffle x2 -> ReLU -> C -> shuffle x2, + linear base, ReLU."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        d, w, m = cfg.dim, cfg.width, cfg.mid_channels
        conv = _conv(d)
        self.fields = _InputFields(cfg)
        self.head = conv(self.fields.channels, w, 3, padding=1)
        self.trunk = nn.ModuleList([_ResBlock(d, w) for _ in range(cfg.blocks)])
        self.up1 = conv(w, m * 2 ** d, 3, padding=1)
        self.up2 = conv(m, 2 ** d, 3, padding=1)
        # start as the interpolated base: the residual branch begins at zero
        nn.init.zeros_(self.up2.weight)
        nn.init.zeros_(self.up2.bias)

    @property
    def receptive_radius(self) -> int:
        """Halo in low-res cells: head + 2 per block + up1 at low res (1 cell each), up2 at
        x2 (1 mid cell, at most 1 low-res cell), the vorticity stencil. The linear base only
        reaches 1 low-res cell."""
        return 1 + 2 * self.cfg.blocks + 1 + 1 + self.fields.radius

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _trunk_features(self, x)
        r = voxel_shuffle(self.up1(h), 2)
        r = voxel_shuffle(self.up2(F.relu(r)), 2)
        return F.relu(interpolate_linear(x[:, :1], FACTOR) + r)

    # after the trunk, as `billow.nets.valid` stages (margin costs)
    tail = (("conv", 1), ("shuffle", 2), ("conv", 1), ("shuffle", 2))  # as `valid` stages

    def forward_core(self, x: torch.Tensor, halo: int, margin: int = 0) -> torch.Tensor:
        """`forward` of a tile's window, only the core's output (`SmoothGenerator.forward_core`)."""
        h = _trunk_core(self, x, halo, valid.need(self.tail, margin))
        r = valid.shuffle(valid.conv(self.up1, h), 2)
        r = valid.conv(self.up2, r.crop(valid.need(self.tail[2:], margin)).map(F.relu))
        r = valid.shuffle(r, 2).crop(margin).t
        return F.relu(_base_core(x, halo, margin) + r)

    def rr_chains(self):
        chains = _trunk_chains(self)
        chains.append([(self.up1, (lambda t: t) if self.trunk else F.relu)])  # trunk output
        chains.append([(self.up2, F.relu)])  # input: ReLU(shuffled up1)
        return chains


# output_form "gain": the residual's gain on the base is exp(GAIN_LIMIT tanh(r / GAIN_LIMIT)),
# between 1/20 and 20 for GAIN_LIMIT 3, smooth everywhere, exactly 1 for the zero-initialised r
GAIN_LIMIT = 3.0


def residual_gain(r: torch.Tensor) -> torch.Tensor:
    return torch.exp(GAIN_LIMIT * torch.tanh(r / GAIN_LIMIT))


SPEED_GATE_KNEE = 2.0  # c in g(u) = (1 + c) u / (u + c): g(0) = 0, g(1) = 1, g(2) = 1.5, g < 1 + c


def speed_gate(velocity: torch.Tensor, factor: int) -> torch.Tensor:
    """Detail gain g(u) of the gated residual, at `factor` x the resolution of `velocity`
    `(N, D, *S)`: u is the local speed in the units the network is given (with
    `"normalise": "frame"`, multiples of the frame's density-weighted RMS speed, times
    --velocity-scale and the detail mask). As in wavelet turbulence (Kim et al. 2008), the
    amplitude of unresolved detail follows the local flow: still smoke gets none, and doubling
    the velocity raises it by half, so the art-direction slider cannot be inert or inverted
    whatever the trunk learned (issue 17: the ungated model's detail fell as the slider rose).
    It saturates at 1 + c so a fast jet cannot blow the detail up. Pointwise at low res and
    linearly up-sampled like the base, so it adds no receptive radius beyond the base's cell."""
    return interpolate_linear(speed_gain(velocity), factor)


def speed_gain(velocity: torch.Tensor) -> torch.Tensor:
    """g(u) of `speed_gate` at the resolution of `velocity` (pointwise)."""
    # sqrt(s + e^2) - e: exactly 0 for still smoke, with a finite gradient there
    u = torch.sqrt((velocity * velocity).sum(dim=1, keepdim=True) + 1e-12) - 1e-6
    c = SPEED_GATE_KNEE
    return (1.0 + c) * u / (u + c)


class SmoothGenerator(nn.Module):
    """Low-res trunk -> C -> [trilinear x2 -> C -> ReLU] x2 -> 1x1 C, + linear or tricubic
    base, ReLU, then optional back-projection steps onto the input's block means."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        d, w, m, q = cfg.dim, cfg.width, cfg.mid_channels, cfg.fine_channels
        conv = _conv(d)
        self.fields = _InputFields(cfg)
        self.head = conv(self.fields.channels, w, 3, padding=1)
        self.trunk = nn.ModuleList([_ResBlock(d, w) for _ in range(cfg.blocks)])
        self.to_mid = conv(w, m, 3, padding=1)
        self.up1 = conv(m, m, 3, padding=1)
        self.up2 = conv(m, q, 3, padding=1)
        self.gated = cfg.detail_gate == "speed" and cfg.use_velocity
        # channel 0: structure residual; channel 1 (gated models): detail residual x g(speed)
        self.out = conv(q, 2 if self.gated else 1, 1)
        # start as the interpolated base: the residual branch begins at zero
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def receptive_radius(self) -> int:
        """Halo in low-res cells: head + 2 per block + to_mid (1 cell each); then the two
        linear x2 with their 3^D convs reach 2 more cells, counted as the cell index of
        the farthest input that changes an output voxel (a linear x2 of cell i reads i +- 1;
        the x2 conv and the second linear x2 reach one cell further; the x4 conv stays
        inside it; `test_receptive_radius_covers_the_measured_impulse_response` measures
        it); plus the vorticity stencil. The smooth tail's blurs reach one cell more. The
        linear base reaches 1 low-res cell, the tricubic 2: both inside the trunk's reach; each
        projection step adds 1; the lattice notch adds 2 (its neighbours and the projection
        step after it)."""
        return (1 + 2 * self.cfg.blocks + 1 + 2 + self.fields.radius
                + (self.cfg.tail_upsampling == "smooth") + 2 * self.cfg.lattice_notch
                + (self.cfg.projection_steps if self.cfg.projection == "block" else 0))

    def forward(self, x: torch.Tensor, parts: tuple[str, ...] = ()):
        """`x`: density, velocity and, for gated models, optionally the `detail` channel
        (absent in training: 1 everywhere). The trunk never reads `detail`: it scales only the
        speed the gate reads, so the slider sets the detail's amplitude and cannot change what
        the trunk makes of the flow (issue 17: s10's trunk answered a slowed input with more
        detail, inverting a slider that scaled the velocity the whole network read)."""
        st = self.stages(x)
        # training's --lambda-negative and --lambda-structure-band read `parts` (names of
        # `stages`) through forward itself, so a DDP-wrapped generator still runs its own forward
        return (st["output"], {k: st[k] for k in parts}) if parts else st["output"]

    def stages(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The forward pass stage by stage, high-res `(N, 1, *4S)` each: "base" (the
        interpolated density), "structure" and "detail" (the residual's ungated channel and
        its speed-gated one, zero for ungated models), "sum" (base + residual), "clamped" (its
        ReLU), "projected" (after the projection) and "output" (after the lattice notch and
        its projection step, the same as "projected" without a notch).
        `benchmarks/lattice_stages.py` measures the lattice at each (session 12: the 4-voxel
        pattern appears at the clamp)."""
        h = _trunk_features(self, x)
        up2 = _BASES[self.cfg.tail_upsampling][0]
        r = F.relu(self.up1(up2(self.to_mid(h), 2)))
        r = self.out(F.relu(self.up2(up2(r, 2))))
        if self.gated:
            structure = r[:, :1]
            detail = speed_gate(self._gate_velocity(x), FACTOR) * r[:, 1:]
        else:
            structure, detail = r, torch.zeros_like(r)
        base = _base(x, self.cfg.base_interpolation)
        if self.cfg.output_form == "gain":  # positive without a clamp
            total = clamped = base * residual_gain(structure + detail)
        else:
            total = base + (structure + detail)  # the sum the shipped models were exported with
            clamped = F.relu(total)
        projected = self.project(clamped, x[:, :1])
        output = projected
        if self.cfg.lattice_notch:  # the notch moves block totals a little: one more step
            output = self._ratio_step(phase_notch(projected, base, FACTOR), x[:, :1])
        return {"base": base, "structure": structure, "detail": detail, "sum": total,
                "clamped": clamped, "projected": projected, "output": output}

    def _gate_velocity(self, x: torch.Tensor) -> torch.Tensor:
        """The velocity the speed gate reads: the input's, times the `detail` channel if given."""
        d = self.cfg.dim
        v = x[:, 1: 1 + d] * self.cfg.velocity_scale
        return v * x[:, 1 + d: 2 + d] if x.shape[1] > 1 + d else v

    def project(self, y: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        """The output's last step: `projection_steps` back-projections of high-res `y` onto the
        block means of low-res density `low` (nothing without `projection: "block"`). Training
        also shows the discriminators real tiles through it (`billow.train.trainer`)."""
        if self.cfg.projection == "block":
            for _ in range(self.cfg.projection_steps):
                y = (self._ratio_step(y, low) if self.cfg.output_form == "gain"
                     else project_block_means(y, low, FACTOR))
        return y

    def _ratio_step(self, y: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        """One `project_block_ratios` step (whole-field form of `_ratio_step_core`)."""
        return project_block_ratios(y, low, FACTOR, self._ratio_up[0])

    @property
    def _ratio_up(self):
        """How the projection up-samples its block corrections (whole-field form, core-only
        form, `need` stage): with the gain form's smooth base, the smooth kernel (a linear
        ratio would print the kinks the smooth base avoids); else linear, as the published
        models were exported with."""
        smooth = self.cfg.output_form == "gain" and self.cfg.base_interpolation == "smooth"
        return _BASES["smooth" if smooth else "linear"]

    @property
    def tail(self) -> list[tuple[str, int]]:
        """The up-sampling tail after `to_mid`, as `billow.nets.valid` stages (margin costs)."""
        up = _BASES[self.cfg.tail_upsampling][2]
        return [(up, 2), ("conv", 1), (up, 2), ("conv", 1), ("conv", 0)]

    def forward_core(self, x: torch.Tensor, halo: int, margin: int = 0) -> torch.Tensor:
        """`forward` of a tile's window `x` (its core plus `halo` low-res cells of neighbours
        on each side), computing only the core's output (plus `margin` output cells on each
        side, for a step after this one): the same voxels as the middle of `forward(x)`
        (`billow.nets.valid`), at about the cost of the core alone."""
        if not self.cfg.lattice_notch:
            return self._projected_core(x, halo, margin)
        # the notch, then one more gain projection step (`stages`): that step's ratio reads
        # k low-res cells beyond what it keeps; phase_notch without padding uses up one more
        if margin % FACTOR:
            raise ValueError(f"the lattice notch keeps whole low-res cells: margin {margin} "
                             f"is not a multiple of {FACTOR}")
        m_proj = FACTOR * valid.need([(self._ratio_up[2], FACTOR)], margin)
        y = self._projected_core(x, halo, m_proj + FACTOR)
        base = _base_core(x, halo, m_proj + FACTOR, self.cfg.base_interpolation)
        y = valid.Margin(phase_notch(y, base, FACTOR, pad=False), m_proj, FACTOR)
        return self._ratio_step_core(x, halo, y, margin).t

    def _ratio_step_core(self, x: torch.Tensor, halo: int, y: valid.Margin,
                         m: int) -> valid.Margin:
        """One `project_block_ratios` step in core-only form, keeping `m` output cells."""
        _, ratio_core, _ = self._ratio_up
        ratio = valid.combine(valid.Margin(x[:, :1], halo), valid.pool(y, FACTOR), block_ratio)
        return valid.combine(y, ratio_core(ratio, FACTOR, m), torch.mul).crop(m)

    def _projected_core(self, x: torch.Tensor, halo: int, margin: int) -> torch.Tensor:
        """`forward_core` before the lattice notch (the whole of it without one)."""
        if self.cfg.projection != "block":
            return self._detail_core(x, halo, margin)
        # `project_block_means` in core-only form: each step's linear x4 reads k low-res cells
        # of block means beyond the cells it keeps, so the field before it keeps 4k cells more
        _, ratio_core, ratio_stage = self._ratio_up
        margins = [margin]
        for _ in range(self.cfg.projection_steps):
            margins.insert(0, FACTOR * valid.need([(ratio_stage, FACTOR)], margins[0]))
        y = valid.Margin(self._detail_core(x, halo, margins[0]), margins[0], FACTOR)
        for m in margins[1:]:
            if self.cfg.output_form == "gain":
                y = self._ratio_step_core(x, halo, y, m)
                continue
            low = valid.add(valid.Margin(x[:, :1], halo), valid.pool(y, FACTOR).map(torch.neg))
            y = valid.add(y, ratio_core(low, FACTOR, m)).crop(m).map(F.relu)
        return y.t

    def _detail_core(self, x: torch.Tensor, halo: int, margin: int) -> torch.Tensor:
        """`forward_core` before the projection (the whole of it without one)."""
        tail, up2 = self.tail, _BASES[self.cfg.tail_upsampling][1]
        m = valid.conv(self.to_mid, _trunk_core(self, x, halo, 1 + valid.need(tail, margin)))
        r = up2(m.crop(valid.need(tail, margin)), 2, valid.need(tail[1:], margin))
        r = valid.conv(self.up1, r).map(F.relu)
        r = up2(r.crop(valid.need(tail[2:], margin)), 2, valid.need(tail[3:], margin))
        r = valid.conv(self.up2, r).map(F.relu)
        r = valid.conv(self.out, r).crop(margin).t
        if self.gated:
            inp = valid.Margin(x, halo).crop(valid.need([("interp", FACTOR)], margin))
            gain = inp.map(lambda t: speed_gain(self._gate_velocity(t)))
            r = r[:, :1] + valid.interp(gain, FACTOR, margin).t * r[:, 1:]
        base = _base_core(x, halo, margin, self.cfg.base_interpolation)
        return base * residual_gain(r) if self.cfg.output_form == "gain" else F.relu(base + r)

    def rr_chains(self):
        """The trunk, to_mid and the output conv; up1 and up2 read an interpolated input,
        which a chain of transposed convolutions cannot map back to, so they have none."""
        chains = _trunk_chains(self)
        chains.append([(self.to_mid, (lambda t: t) if self.trunk else F.relu)])
        chains.append([(self.out, F.relu)])  # input: ReLU(up2(...))
        return chains


register(fast=FastGenerator, smooth=SmoothGenerator, paper=PaperGenerator)


def generator_from_kwargs(**fields) -> nn.Module:
    """`build_generator` from plain GeneratorConfig fields (model cards store these)."""
    return build_generator(GeneratorConfig(**fields))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
