"""Loss terms of tempoGAN (dissertation Eq. 3.1-3.8) and the generator's total loss (Eq. 3.8,
`generator_loss`). The adversarial cross-entropies of Eq. 3.1/3.2 are the GAN loss core both
products share (`billow.run.gan`).

The temporal modes share one signature: `mode(fake3, real3, lr3, d_t)` with
fake3 / real3 = high-res frames (t-1, t, t+1) each `(N, 1, *S)` with context padding,
lr3 = low-res frames `(N, 1 + D, *s)` (density, velocity) with context padding, and return
`generator_loss(...)` / `discriminator_loss(...)` (the latter None where no D_t exists).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..nets.advection import AdvectionLayer, crop
from ..ops import gaussian_blur
from ..ops.downsample import blur_sigma
from ..run.gan import discriminator_loss, generator_adversarial


def l1_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """E_n ||G(x) - y||_1, per element (a mean), as lambda_L1 = 5 assumes."""
    return (fake - real).abs().mean()


def phase_pattern(x: torch.Tensor, factor: int) -> torch.Tensor:
    """The mean of `x` (N, 1, *S) over every voxel of each phase (position inside its
    `factor`^D block), minus the tile's mean: (N, factor^D). Its DFT is, up to a constant, the
    field's DFT on the period-`factor` lattice bins (every k = j * S / factor but 0), so it is
    the spatial form of `billow.metrics.artefacts.lattice_measure`'s numerator."""
    n, dim = x.shape[0], x.dim() - 2
    blocks = [s // factor for s in x.shape[2:]]
    shape = [n] + [v for b in blocks for v in (b, factor)]
    x = x[(slice(None), 0) + tuple(slice(0, b * factor) for b in blocks)].reshape(shape)
    phases = x.mean(dim=tuple(1 + 2 * i for i in range(dim))).reshape(n, -1)
    return phases - phases.mean(dim=1, keepdim=True)


def lattice_loss(fake: torch.Tensor, real: torch.Tensor, factor: int) -> torch.Tensor:
    """Mean |phase pattern of fake - that of real| per phase and tile: the generated tile's
    power on the lattice bins pulled to the real tile's. Real smoke has no lattice, so its
    pattern is sampling noise around 0 and the term pulls the generator's towards 0; it is
    blind to anything that is not periodic with the block (issue 17: adversarial training grew
    a 4-voxel lattice the L1 and block terms cannot see, because it averages out per block)."""
    return (phase_pattern(fake.float(), factor) - phase_pattern(real.float(), factor)).abs().mean()


def lattice_ratio(x: torch.Tensor, factor: int, sigma: float = 2.0,
                  eps: float = 1e-12) -> torch.Tensor:
    """(N,): how much of each tile's detail sits on the period-`factor` lattice bins, against
    a flat spectrum: B^2 sum |phase pattern|^2 / sum |detail - its mean|^2 (B the blocks per
    tile), with detail = the tile minus its Gaussian blur of `sigma` voxels, as
    `billow.metrics.artefacts.lattice_measure` high-passes. By Parseval this is the mean power on
    the lattice bins over the mean power of every bin, so white noise scores about 1 whatever
    its amplitude and a pattern that repeats every block far more: the tile form of
    `lattice_measure`, which divides by the neighbouring bins instead (a 32^3 tile has too few
    bins per axis to take neighbours from); exactly, that ratio times (P - 1) S / (P (S - 1))
    for P phases and S voxels, since the means it divides by count the DC bin. A blur, not
    the block means' up-sampling, because
    the latter's error on smooth content repeats every block (a quadratic ramp scores 44)."""
    x = x.float()
    detail = x - gaussian_blur(x, sigma)
    blocks = detail[0, 0].numel() // factor ** (x.dim() - 2)
    dims = tuple(range(1, x.dim()))
    centred = detail - detail.mean(dim=dims, keepdim=True)
    lattice = phase_pattern(detail, factor).pow(2).sum(dim=1) * blocks ** 2
    return (lattice + eps) / (centred.pow(2).sum(dim=dims) + eps)


def lattice_ratio_loss(fake: torch.Tensor, real: torch.Tensor, factor: int) -> torch.Tensor:
    """Mean over tiles of max(0, log lattice_ratio(fake) - log lattice_ratio(real)): zero where
    a generated tile puts no more of its detail on the lattice bins than its reference does,
    the log-excess where it does. A ratio, so removing all detail does not satisfy it (session
    11: `lattice_loss` on per-phase means cut the lattice bins' power and the detail around them
    alike, and the measured lattice ratio rose, 1.30 -> 2.49 over the out-of-family sets); blind
    to amplitude; the reference tile's own ratio is the bar (real smoke edges and walls score
    well above 1). Per tile, because the pattern is local: on s16's training tiles the tiles
    with a lattice score 2-7x their reference while the batch's median does not move."""
    excess = torch.log(lattice_ratio(fake, factor)) - torch.log(lattice_ratio(real, factor))
    return F.relu(excess).mean()


def band_power(x: torch.Tensor, factor: int) -> torch.Tensor:
    """(N, B): each tile's Hann-windowed power spectrum summed over radial bands of width
    1 / (the tile's smallest side) cycles per voxel, from the input's Nyquist (0.5 / factor)
    to 0.5: the bands `billow.metrics.spectrum.spectrum_error` compares, per tile. The window
    keeps the tile's edges (the FFT wraps them) out of the high bands."""
    x = x.float()[:, 0]
    dims = x.shape[1:]
    for axis, n in enumerate(dims):
        w = torch.hann_window(n, periodic=False, device=x.device)
        x = x * w.reshape([n if a == axis else 1 for a in range(len(dims))])
    power = torch.fft.rfftn(x, dim=tuple(range(1, x.dim()))).abs().pow(2)
    grids = torch.meshgrid(*[torch.fft.fftfreq(n, device=x.device) for n in dims[:-1]],
                           torch.fft.rfftfreq(dims[-1], device=x.device), indexing="ij")
    k = torch.sqrt(sum(g.pow(2) for g in grids))
    step = 1.0 / min(dims)
    lo = 0.5 / factor
    edges = torch.arange(lo, 0.5 + 1e-9, step, device=x.device)
    bands = [(k > a + 1e-9) & (k <= a + step + 1e-9) for a in edges[:-1].tolist()]
    return torch.stack([power[:, m].sum(dim=1) for m in bands], dim=1)


def spectrum_loss(fake: torch.Tensor, real: torch.Tensor, factor: int) -> torch.Tensor:
    """Mean over tiles and bands of |ln P_fake - ln P_real| (`band_power`): the generated
    tile's fine-detail spectrum pulled to its reference's in every band above the input's
    Nyquist, the tile form of the benchmark's spectrum error (`--lambda-spectrum`). Why: out
    of family every network was 10-300x short of the reference's power at 0.3-0.5 cycles per
    voxel (session 13) while L1 and the block terms reward the mean, not the texture. A
    statistic of the spectrum, blind to phase, so the detail's placement stays free; scaling
    both tiles leaves it unchanged. The floor (1e-6 of the reference tile's band total) keeps
    empty tiles at 0."""
    pf, pr = band_power(fake, factor), band_power(real, factor)
    floor = 1e-6 * pr.sum(dim=1, keepdim=True) + 1e-20
    return (torch.log(pf + floor) - torch.log(pr + floor)).abs().mean()


def structure_band_share(structure: torch.Tensor, detail: torch.Tensor,
                         sigma: float) -> torch.Tensor:
    """Share of the residual's high-band power (what a Gaussian of `sigma` voxels removes)
    that a gated smooth generator puts in its ungated structure channel rather than its
    speed-gated detail channel, over the whole batch: 0 when all the high band is gated, 1
    when none is (`--lambda-structure-band`). Why: the velocity slider reaches the gated
    channel only, and s18's training moved 80 percent of the high band into the structure
    channel, leaving the slider at 0.77 / 1 / 1.12 out of family (session 12). A share, not a
    power, so the term cannot be met by removing detail."""
    hs = structure - gaussian_blur(structure, sigma)
    hd = detail - gaussian_blur(detail, sigma)
    ps, pd = hs.pow(2).mean(), hd.pow(2).mean()
    return ps / (ps + pd + 1e-12)


def flicker_excess(fake3, real3, factor: int, per_tile: bool = False) -> torch.Tensor:
    """relu(ln F(fake) - ln F(real)) with F(y) = RMS(hp(y^1 - y^0), hp(y^2 - y^1)) / RMS(hp(y^1))
    over the batch, hp the part finer than the input resolves (y minus the training blur):
    `billow.metrics.temporal.flicker`, the benchmark's flicker, on training triples
    (`--lambda-flicker`). Zero while the generated detail changes per frame no more than the
    reference's. Why: out of family the detail of the gain-form models flickered 2x the
    reference's on dense slow smoke (session 14) while D_t barely told unadvected triples from
    real ones. One-sided and blind to the detail's amplitude, so it cannot be met by blurring.

    `per_tile`: the ratio is taken per tile and the excesses averaged (`--flicker-per-tile`).
    Why: over the batch, the few slow dense tiles, where the reference's detail barely changes
    and out of family the output's flickered 1.5-1.6x (session 19, `stage_flicker.py`), are
    outweighed by fast tiles whose flicker is within the reference's; per tile each one must
    meet its own reference."""
    sigma = blur_sigma(factor)
    dims = tuple(range(1, fake3[1].dim())) if per_tile else None

    def mean(x):
        return x.mean(dim=dims) if dims else x.mean()

    def flick(y3):
        hp = [y - gaussian_blur(y, sigma) for y in (f.float() for f in y3)]
        change = mean((hp[1] - hp[0]).pow(2)) + mean((hp[2] - hp[1]).pow(2))
        return torch.sqrt(change / 2 + 1e-20) / torch.sqrt(mean(hp[1].pow(2)) + 1e-20)

    return F.relu(torch.log(flick(fake3)) - torch.log(flick(real3))).mean()


def negative_loss(logit_negative: torch.Tensor) -> torch.Tensor:
    """E[-log(1 - D(n))]: a discriminator's cross-entropy on negative examples, real data
    spoilt the way a generator fails (detail blurred away, detail that flickers), labelled
    generated (`--d-negatives`). Why: `benchmarks/d_probe.py` on s16 (session 12) found D_s
    scoring real tiles blurred at sigma 1.5 voxels more real (0.91) than the real tiles (0.74),
    and D_t scoring real triples with flicker added more real (0.71) than real ones (0.60):
    neither had learned what the generator should be pushed towards."""
    return F.binary_cross_entropy_with_logits(logit_negative, torch.zeros_like(logit_negative))


def feature_loss(feats_fake, feats_real, weights) -> torch.Tensor:
    """Eq. 3.7: sum_j lambda_f^j E ||F^j(G(x)) - F^j(y)||^2, each layer's squared distance
    averaged per ELEMENT, so a weight means the same for any batch, tile size or layer width
    (the reference code summed, so its weights only held for its own tile and layer sizes).
    Weights may be negative (Sec. 3.2.4). The real features carry no gradient."""
    total = torch.zeros((), device=feats_fake[0].device)
    for w, a, b in zip(weights, feats_fake, feats_real):
        if w:
            total = total + w * F.mse_loss(a, b.detach())
    return total


def paper_lambda_f(lam: float, layer_elements: int) -> float:
    """Convert a paper weight (App. A.2, applied to sum/2 over a sample's layer activations)
    into this per-element weight for a layer of `layer_elements` activations per sample."""
    return lam * layer_elements / 2.0


def generator_loss(fake: torch.Tensor, real: torch.Tensor, logit_fake: torch.Tensor, *,
                   lambda_l1: float, lambda_ds: float, feats_fake=None, feats_real=None,
                   lambda_f=(), temporal: torch.Tensor | None = None,
                   reverse_pass: torch.Tensor | None = None, lambda_block: float = 0.0,
                   lambda_lattice: float = 0.0, lambda_lattice_ratio: float = 0.0,
                   lambda_spectrum: float = 0.0, factor: int = 4) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Eq. 3.8, G's total loss: lambda_L1 ||G(x) - y||_1 (per element) + lambda_ds times the
    adversarial term of D_s (Eq. 3.2) + the temporal term (the temporal mode's generator
    loss, weighted by lambda_dt inside the mode) + the feature-space terms (Eq. 3.7, given D_s's
    features of real tiles) + the reverse-pass regulariser (ch. 4), each where given; and,
    beyond the dissertation, with `lambda_block` > 0, lambda_block times the L1 distance of the
    means over `factor`^D blocks (one block per low-res cell): a consistency term that leaves
    the invented detail inside a block free but keeps each block's density, so the adversarial
    terms cannot thin the smoke (issue 17: mass fell from 0.99 to 0.885 as the gated model
    trained); with `lambda_lattice` > 0, lambda_lattice times `lattice_loss`; with
    `lambda_lattice_ratio` > 0, that times `lattice_ratio_loss`; with `lambda_spectrum` > 0,
    that times `spectrum_loss`.

    `fake`/`real`: generated and reference tiles in loss units; `logit_fake`: D_s on `fake`.
    Returns (total, {"g_ds", "g_l1", "g_block", "g_lattice", "g_lattice_ratio", "g_spectrum",
    "g_feat", "g_t", "g_rr": weighted term}) with the terms present; the total is their sum in that order (float32 even under
    mixed precision)."""
    terms = {"g_ds": lambda_ds * generator_adversarial(logit_fake.float()),
             "g_l1": lambda_l1 * l1_loss(fake.float(), real.float())}
    if lambda_block > 0:
        pool = F.avg_pool2d if fake.dim() == 4 else F.avg_pool3d
        terms["g_block"] = lambda_block * l1_loss(pool(fake.float(), factor),
                                                  pool(real.float(), factor))
    if lambda_lattice > 0:
        terms["g_lattice"] = lambda_lattice * lattice_loss(fake, real, factor)
    if lambda_lattice_ratio > 0:
        terms["g_lattice_ratio"] = lambda_lattice_ratio * lattice_ratio_loss(fake, real, factor)
    if lambda_spectrum > 0:
        terms["g_spectrum"] = lambda_spectrum * spectrum_loss(fake, real, factor)
    if feats_real is not None:
        terms["g_feat"] = feature_loss(feats_fake, feats_real, lambda_f)
    if temporal is not None:
        terms["g_t"] = temporal
    if reverse_pass is not None:
        terms["g_rr"] = reverse_pass
    return sum(terms.values()), terms


class TemporalMode:
    """No temporal term (the spatial-only baseline)."""

    name = "none"
    uses_frames = False
    has_discriminator = False

    def __init__(self, factor: int = 4, context: int = 0, order: str = "semi-lagrangian",
                 weight: float = 1.0):
        self.advection = AdvectionLayer(factor, context, order)
        self.margin = context * factor
        self.weight = weight

    def align(self, frames3, lr3):
        return None

    def generator_loss(self, fake3, real3, lr3, d_t):
        return torch.zeros((), device=fake3[1].device)

    def discriminator_loss(self, fake3, real3, lr3, d_t):
        return None


class L2Temporal(TemporalMode):
    """Eq. 3.4: ||G(x^t) - A(G(x^{t-1}), v^{t-1})||^2 + ||G(x^t) - A(G(x^{t+1}), -v^{t+1})||^2,
    per element. Tends to darken the output (Sec. 3.2.3)."""

    name = "l2"
    uses_frames = True

    def align(self, frames3, lr3):
        d = lr3[0].shape[1] - 1
        return self.advection(frames3[0], frames3[1], frames3[2], lr3[0][:, 1:1 + d],
                              lr3[2][:, 1:1 + d])

    def generator_loss(self, fake3, real3, lr3, d_t):
        a = self.align(fake3, lr3)
        return self.weight * (F.mse_loss(a[:, 1], a[:, 0]) + F.mse_loss(a[:, 1], a[:, 2]))


class DtTemporal(L2Temporal):
    """Eq. 3.5: D_t on advected triples {A(y^{t-1}, v^{t-1}), y^t, A(y^{t+1}, -v^{t+1})}."""

    name = "dt"
    has_discriminator = True

    def generator_loss(self, fake3, real3, lr3, d_t):
        logit, _ = d_t(self.align(fake3, lr3))
        return self.weight * generator_adversarial(logit)

    def discriminator_loss(self, fake3, real3, lr3, d_t, negatives3=None,
                           negative_weight: float = 0.0):
        """Eq. 3.1 for D_t; with `negatives3` (triples shown as generated, e.g. real frames
        with flickering detail), plus `negative_weight` times their cross-entropy as fake.
        `last_logits` keeps (real, generated), `last_negative_logits` the negatives', and
        `last_eq31` the Eq. 3.1 part alone (what the chance level 2 ln 2 refers to)."""
        fake = self.align([f.detach() for f in fake3], lr3)
        batch = [self.align(real3, lr3), fake]
        if negatives3 is not None:  # any multiple of the batch: several kinds, stacked
            k = negatives3[1].shape[0] // real3[1].shape[0]
            batch.append(self.align(negatives3, [v.repeat((k,) + (1,) * (v.dim() - 1))
                                                 for v in lr3]))
        logits, _ = d_t(torch.cat(batch))  # one call: DDP-safe
        chunks = logits.float().split([b.shape[0] for b in batch])
        logit_real, logit_fake = chunks[0], chunks[1]
        self.last_logits = (logit_real.detach(), logit_fake.detach())
        loss = discriminator_loss(logit_real, logit_fake)
        self.last_eq31 = loss.detach()
        self.last_negative_logits = None
        if negatives3 is not None:
            self.last_negative_logits = chunks[2].detach()
            loss = loss + negative_weight * negative_loss(chunks[2])
        return loss


class DtNoAdvTemporal(DtTemporal):
    """Eq. 3.6: D_t on the plain triples {y^{t-1}, y^t, y^{t+1}} (no alignment)."""

    name = "dt-noadv"

    def align(self, frames3, lr3):
        return torch.cat([crop(f, self.margin) for f in frames3], dim=1)


TEMPORAL_MODES = {m.name: m for m in (TemporalMode, L2Temporal, DtTemporal, DtNoAdvTemporal)}


def temporal_mode(name: str, **kwargs) -> TemporalMode:
    if name not in TEMPORAL_MODES:
        raise ValueError(f"temporal mode must be one of {sorted(TEMPORAL_MODES)}, not {name!r}")
    return TEMPORAL_MODES[name](**kwargs)
