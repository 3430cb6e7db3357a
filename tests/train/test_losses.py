"""Loss terms on hand-made inputs (Eq. 3.1-3.8)."""

from __future__ import annotations

import math

import pytest
import torch
from billow.nets import TemporalDiscriminator
from billow.ops import advect
from billow.train.losses import (
    TEMPORAL_MODES,
    band_power,
    feature_loss,
    generator_loss,
    l1_loss,
    lattice_loss,
    lattice_ratio,
    lattice_ratio_loss,
    paper_lambda_f,
    phase_pattern,
    spectrum_loss,
    temporal_mode,
)


def test_generator_loss_is_eq_3_8():
    """L_G = lambda_L1 L1 + lambda_ds L_adv + temporal + feature (+ reverse pass), each term
    weighted as Eq. 3.8 says, and only the terms given."""
    g = torch.Generator().manual_seed(0)
    fake, real = torch.rand(2, 1, 8, 8, generator=g), torch.rand(2, 1, 8, 8, generator=g)
    logit = torch.randn(2, generator=g)
    ff = [torch.rand(2, 3, 4, 4, generator=g) for _ in range(4)]
    fr = [torch.rand(2, 3, 4, 4, generator=g) for _ in range(4)]
    lf = (0.5, -0.25, 0.0, 2.0)
    temporal, rr = torch.tensor(0.7), torch.tensor(0.03)
    total, terms = generator_loss(fake, real, logit, lambda_l1=5.0, lambda_ds=0.5,
                                  feats_fake=ff, feats_real=fr, lambda_f=lf,
                                  temporal=temporal, reverse_pass=rr)
    l1 = (fake - real).abs().mean()
    adv = -torch.log(torch.sigmoid(logit)).mean()
    feat = sum(w * ((a - b) ** 2).mean() for w, a, b in zip(lf, ff, fr))
    assert list(terms) == ["g_ds", "g_l1", "g_feat", "g_t", "g_rr"]
    assert torch.allclose(terms["g_l1"], 5.0 * l1) and torch.allclose(terms["g_ds"], 0.5 * adv)
    assert torch.allclose(terms["g_feat"], feat)
    assert terms["g_t"] is temporal and terms["g_rr"] is rr  # weighted where computed
    assert torch.allclose(total, 5.0 * l1 + 0.5 * adv + feat + temporal + rr)
    # without feature, temporal and reverse-pass terms: L1 and adversarial only
    total2, terms2 = generator_loss(fake, real, logit, lambda_l1=5.0, lambda_ds=0.0)
    assert list(terms2) == ["g_ds", "g_l1"] and float(terms2["g_ds"]) == 0.0
    assert torch.allclose(total2, 5.0 * l1)
    # the block-consistency term: the L1 of the 4x4 block means, blind to detail inside a block
    blocks = torch.nn.functional.avg_pool2d
    _, terms3 = generator_loss(fake, real, logit, lambda_l1=5.0, lambda_ds=0.5,
                               lambda_block=20.0, factor=4)
    assert list(terms3) == ["g_ds", "g_l1", "g_block"]
    assert torch.allclose(terms3["g_block"], 20.0 * (blocks(fake, 4) - blocks(real, 4)).abs().mean())
    shuffled = real.clone()  # same block means, detail moved around inside each block
    shuffled[..., :4, :4] = real[..., :4, :4].flip(-1)
    _, same = generator_loss(shuffled, real, logit, lambda_l1=0.0, lambda_ds=0.0,
                             lambda_block=1.0)
    assert float(same["g_block"]) < 1e-7
    # gradients reach G's output through both terms
    x = fake.clone().requires_grad_()
    generator_loss(x, real, logit, lambda_l1=1.0, lambda_ds=1.0)[0].backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_l1():
    a = torch.zeros(2, 1, 4, 4)
    b = torch.full((2, 1, 4, 4), 0.5)
    b[0, 0, 0, 0] = 2.5
    assert math.isclose(float(l1_loss(a, b)), (0.5 * 31 + 2.5) / 32)


def test_feature_loss_is_per_element_and_signed():
    """The same per-element feature difference gives the same loss for any batch, tile size
    or layer width; negative weights flip the sign (Sec. 3.2.4)."""
    vals = []
    for n, side, c in [(1, 8, 32), (4, 16, 64), (2, 4, 256)]:
        real = [torch.randn(n, c, side, side)]
        fake = [real[0] + 0.3]
        vals.append(float(feature_loss(fake, real, [1.0])))
    assert all(math.isclose(v, 0.09, rel_tol=1e-5) for v in vals)
    real = [torch.zeros(2, 4, 4, 4)] * 2
    fake = [torch.ones(2, 4, 4, 4), torch.full((2, 4, 4, 4), 2.0)]
    assert math.isclose(float(feature_loss(fake, real, [-0.1, 0.5])), -0.1 + 0.5 * 4, rel_tol=1e-6)
    # gradients never reach the real features
    r = torch.zeros(1, 2, 3, 3, requires_grad=True)
    f = torch.ones(1, 2, 3, 3, requires_grad=True)
    feature_loss([f], [r], [1.0]).backward()
    assert r.grad is None and f.grad is not None
    assert math.isclose(paper_lambda_f(-1e-5, 32 * 32 * 32), -0.16384)


def _sequence(shift_cells: float):
    """Three frames of a field moving with a constant low-res velocity (context 1)."""
    torch.manual_seed(0)
    y0 = torch.rand(1, 1, 32, 32)
    v_lr = torch.zeros(1, 2, 8, 8)
    v_lr[:, 0] = shift_cells
    v_hr = torch.zeros(1, 2, 32, 32)
    v_hr[:, 0] = 4 * shift_cells
    y1 = advect(y0, v_hr)
    y2 = advect(y1, v_hr)
    lr = torch.cat([torch.zeros(1, 1, 8, 8), v_lr], 1)
    return [y0, y1, y2], [lr, lr, lr]


@pytest.mark.parametrize("name", sorted(TEMPORAL_MODES))
def test_temporal_modes_share_one_signature(name):
    frames, lr = _sequence(0.25)
    mode = temporal_mode(name, factor=4, context=1)
    dt = TemporalDiscriminator(2, 24) if mode.has_discriminator else None
    g = mode.generator_loss(frames, frames, lr, dt)
    assert g.dim() == 0 and torch.isfinite(g)
    d = mode.discriminator_loss(frames, frames, lr, dt)
    assert (d is None) == (not mode.has_discriminator)


def test_l2_temporal_vanishes_for_advected_frames():
    frames, lr = _sequence(0.25)
    mode = temporal_mode("l2", factor=4, context=1)
    aligned = float(mode.generator_loss(frames, frames, lr, None))
    _, still = _sequence(0.0)
    misaligned = float(mode.generator_loss(frames, frames, still, None))  # wrong velocity
    assert aligned < 1e-3 * misaligned
    # dt aligns with advection, dt-noadv does not (Eq. 3.5 vs 3.6)
    adv = temporal_mode("dt", factor=4, context=1).align(frames, lr)
    plain = temporal_mode("dt-noadv", factor=4, context=1).align(frames, lr)
    assert (adv[:, 0] - adv[:, 1]).abs().mean() < 0.05 * (plain[:, 0] - plain[:, 1]).abs().mean()


@pytest.mark.parametrize("dim", [2, 3])
def test_phase_pattern_is_the_fields_power_on_the_lattice_bins(dim):
    """Parseval: the FFT on the period-4 lattice bins (every j * S / 4 but 0) is the DFT of the
    per-phase means times the blocks per tile, so the two powers agree."""
    g = torch.Generator().manual_seed(0)
    side, f = 16, 4
    x = torch.rand((2, 1) + (side,) * dim, generator=g)
    x = x + 0.3 * torch.rand((2, 1) + (f,) * dim, generator=g).repeat((1, 1) + (side // f,) * dim)
    fft = torch.fft.fftn(x[:, 0], dim=tuple(range(1, dim + 1)))
    idx = torch.arange(0, side, side // f)
    lattice = fft[(slice(None),) + torch.meshgrid(*[idx] * dim, indexing="ij")]
    power = lattice.abs().pow(2).reshape(2, -1)[:, 1:].sum(dim=1)  # [0] is DC
    blocks = (side // f) ** dim
    expected = blocks ** 2 * f ** dim * phase_pattern(x, f).pow(2).sum(dim=1)
    assert torch.allclose(power, expected, rtol=1e-4)


def test_lattice_loss_sees_only_what_repeats_every_block():
    g = torch.Generator().manual_seed(1)
    real = torch.rand(2, 1, 16, 16, 16, generator=g)
    # a smooth change that is constant inside each 4^3 block: no lattice power
    ramp = torch.linspace(0, 1, 4).repeat_interleave(4)
    assert float(lattice_loss(real + ramp.view(1, 1, 16, 1, 1), real, 4)) < 1e-6
    assert float(lattice_loss(real * 3.0 + 1.0, real * 3.0 + 1.0, 4)) == 0.0
    # a period-4 pattern added to the output shows at its full size per phase
    pattern = torch.zeros(4, 4, 4)
    pattern[0, 0, 0] = 0.64  # one phase bright: the dot lattice the issue saw
    fake = real + pattern.repeat(4, 4, 4)
    expected = (pattern - pattern.mean()).abs().mean()
    assert math.isclose(float(lattice_loss(fake, real, 4)), float(expected), rel_tol=1e-5)
    # the generator's loss carries it, weighted, and it sends gradients to the output
    x = fake.clone().requires_grad_()
    total, terms = generator_loss(x, real, torch.zeros(2, 1), lambda_l1=0.0, lambda_ds=0.0,
                                  lambda_lattice=10.0)
    assert math.isclose(float(terms["g_lattice"].detach()), 10 * float(expected), rel_tol=1e-5)
    total.backward()
    assert x.grad.abs().sum() > 0
    assert "g_lattice" not in generator_loss(x, real, torch.zeros(2, 1), lambda_l1=1.0,
                                             lambda_ds=0.0)[1]


@pytest.mark.parametrize("dim", [2, 3])
def test_lattice_ratio_is_lattice_bin_power_over_mean_bin_power(dim):
    """Parseval: B^2 sum |phase pattern|^2 / sum |detail - mean|^2 is the mean power of the
    high-passed tile on the period-4 lattice bins over its mean power on every non-DC bin."""
    from billow.ops import gaussian_blur

    g = torch.Generator().manual_seed(2)
    side, f = 16, 4
    x = torch.rand((3, 1) + (side,) * dim, generator=g)
    x = x + 0.2 * torch.rand((3, 1) + (f,) * dim, generator=g).repeat((1, 1) + (side // f,) * dim)
    detail = (x - gaussian_blur(x, 2.0))[:, 0]
    power = torch.fft.fftn(detail, dim=tuple(range(1, dim + 1))).abs().pow(2).reshape(3, -1)
    idx = torch.arange(0, side, side // f)
    on = torch.zeros((side,) * dim, dtype=torch.bool)
    on[torch.meshgrid(*[idx] * dim, indexing="ij")] = True
    on = on.reshape(-1)
    on[0] = False
    everywhere = torch.ones_like(on)
    everywhere[0] = False
    expected = power[:, on].mean(dim=1) / power[:, everywhere].mean(dim=1)
    # the ratio divides by the P phases and S voxels where the FFT has P - 1 and S - 1 non-DC
    # bins (the DC bin carries no power after the means are taken out)
    phases, voxels = f ** dim, side ** dim
    expected = expected * (phases - 1) / phases * voxels / (voxels - 1)
    assert torch.allclose(lattice_ratio(x, f), expected, rtol=1e-4)


def test_lattice_ratio_loss_punishes_a_lattice_not_a_lack_of_detail():
    g = torch.Generator().manual_seed(3)
    real = torch.rand(4, 1, 32, 32, 32, generator=g)
    # white noise sits near 1 whatever its amplitude; the reference is the bar
    r = lattice_ratio(real, 4)
    assert ((r > 0.7) & (r < 1.4)).all()
    assert torch.allclose(lattice_ratio(real * 5.0 + 2.0, 4), r, rtol=1e-4)
    assert float(lattice_ratio_loss(real * 0.1, real, 4)) < 1e-5  # less detail, same spectrum
    pattern = torch.zeros(4, 4, 4)
    pattern[0, 0, 0] = 0.3  # the dot lattice
    fake = real + pattern.repeat(8, 8, 8)
    assert (lattice_ratio(fake, 4) > 5 * r).all()
    expected = torch.log(lattice_ratio(fake, 4) / r).mean()
    assert math.isclose(float(lattice_ratio_loss(fake, real, 4)), float(expected), rel_tol=1e-5)
    # a reference with more lattice than the output costs nothing
    assert float(lattice_ratio_loss(real, fake, 4)) == 0.0
    x = fake.clone().requires_grad_()
    total, terms = generator_loss(x, real, torch.zeros(4, 1), lambda_l1=0.0, lambda_ds=0.0,
                                  lambda_lattice_ratio=2.0)
    assert math.isclose(float(terms["g_lattice_ratio"].detach()), 2 * float(expected),
                        rel_tol=1e-5)
    total.backward()
    # the gradient lowers the lattice: a small step against it reduces the ratio
    with torch.no_grad():
        assert (lattice_ratio(x - 0.01 * x.grad / x.grad.abs().max(), 4)
                < lattice_ratio(fake, 4)).all()


@pytest.mark.parametrize("dim", [2, 3])
def test_band_power_puts_a_wave_in_its_band(dim):
    """A plane wave of 0.3 cycles per voxel puts nearly all of its high-band power in the
    band that holds 0.3, from the input's Nyquist (0.125 for 4x) up to 0.5."""
    n = 32
    x = torch.arange(n).float()
    wave = torch.cos(2 * math.pi * 0.3 * x).reshape((1, 1, n) + (1,) * (dim - 1))
    wave = wave.expand((1, 1) + (n,) * dim)
    p = band_power(wave, 4)[0]
    assert p.shape[0] == round((0.5 - 0.125) * n)  # bands of 1/32 cycles per voxel
    top = int(p.argmax())
    assert 0.125 + top / n < 0.3 <= 0.125 + (top + 1) / n + 1e-6
    assert p[max(top - 1, 0):top + 2].sum() > 0.95 * p.sum()


def test_spectrum_loss_sees_missing_detail_not_where_it_sits():
    g = torch.Generator().manual_seed(5)
    real = torch.rand(3, 1, 32, 32, 32, generator=g) + 1.0
    assert float(spectrum_loss(real, real, 4)) < 1e-6
    assert float(spectrum_loss(real * 7.0, real * 7.0, 4)) < 1e-6
    # k times the field: |ln k^2| in every band
    assert math.isclose(float(spectrum_loss(real * 2.0, real, 4)), 2 * math.log(2.0),
                        rel_tol=1e-4)
    # the same detail elsewhere costs far less than the detail blurred away
    from billow.ops import gaussian_blur
    moved = torch.rand(3, 1, 32, 32, 32, generator=g) + 1.0
    blurred = gaussian_blur(real, 1.5)
    assert float(spectrum_loss(moved, real, 4)) < 0.1 * float(spectrum_loss(blurred, real, 4))
    x = blurred.clone().requires_grad_()
    total, terms = generator_loss(x, real, torch.zeros(3, 1), lambda_l1=0.0, lambda_ds=0.0,
                                  lambda_spectrum=0.5)
    assert math.isclose(float(terms["g_spectrum"].detach()),
                        0.5 * float(spectrum_loss(blurred, real, 4)), rel_tol=1e-5)
    total.backward()
    with torch.no_grad():  # a small step against the gradient brings the spectrum closer
        step = x - 0.05 * x.grad / x.grad.abs().max()
        assert float(spectrum_loss(step, real, 4)) < float(spectrum_loss(blurred, real, 4))


def test_flicker_excess_is_the_benchmark_flicker_ratio_above_one():
    """flicker_excess = relu(ln(F(fake) / F(real))), F the benchmark's flicker on a triple
    (`billow.metrics.temporal.flicker`, both frame pairs pooled): 0 for the reference itself,
    for a steadier triple and for any rescaling; positive for detail re-drawn each frame; a
    gradient step lowers it."""
    from billow.metrics.temporal import flicker
    from billow.train.losses import flicker_excess

    g = torch.Generator().manual_seed(9)
    base = torch.rand(2, 1, 24, 24, 24, generator=g)
    drift = torch.rand(2, 1, 24, 24, 24, generator=g)
    real = [base + 0.05 * k * drift for k in range(3)]  # detail that changes a little
    assert float(flicker_excess(real, real, 4)) < 1e-6
    assert float(flicker_excess([3.0 * r for r in real], real, 4)) < 1e-6
    assert float(flicker_excess([base] * 3, real, 4)) == 0.0  # still detail: no excess
    noisy = [r + 0.2 * torch.rand(r.shape, generator=g) for r in real]
    assert math.exp(float(flicker_excess(noisy, real, 4))) > 2.0
    # a triple whose last two frames agree: the ratio of the metric on its first pair
    a, b = noisy[0][:1], noisy[1][:1]
    c, d = real[0][:1], real[1][:1]
    metric = flicker(a[0, 0], b[0, 0], 4) / flicker(c[0, 0], d[0, 0], 4)
    assert math.isclose(math.exp(float(flicker_excess([a, b, b], [c, d, d], 4))), metric,
                        rel_tol=1e-4)
    x = [n.clone().requires_grad_() for n in noisy]
    loss = flicker_excess(x, real, 4)
    loss.backward()
    with torch.no_grad():
        step = [a - 0.5 * a.grad / max(float(a.grad.abs().max()), 1e-12) * 0.05 for a in x]
        assert float(flicker_excess(step, real, 4)) < float(loss)


def test_flicker_excess_per_tile_averages_each_tiles_own_excess():
    """--flicker-per-tile: the mean over tiles of each tile's own excess. A batch of one
    steady tile and one that flickers 2x its reference has a per-tile excess of ln(2) / 2,
    while the batch ratio lets the large steady tile hide the flickering one."""
    from billow.train.losses import flicker_excess

    g = torch.Generator().manual_seed(3)
    base = torch.rand(2, 1, 24, 24, 24, generator=g)
    drift = torch.rand(2, 1, 24, 24, 24, generator=g)
    real = [base + 0.05 * k * drift for k in range(3)]
    calm = [base[:1] + 0.05 * k * drift[:1] * 0.01 for k in range(3)]  # tile 0: still detail
    # tile 1 changes twice as fast as its reference, with the same detail
    fast = [base[1:] + 0.1 * k * drift[1:] for k in range(3)]
    # tile 0's detail is 10x brighter, so its calm dominates the pooled ratio
    fake = [torch.cat([10 * c, f]) for c, f in zip(calm, fast)]
    real2 = [torch.cat([10 * r[:1], r[1:]]) for r in real]
    one = [float(flicker_excess([f[i:i + 1] for f in fake], [r[i:i + 1] for r in real2], 4))
           for i in range(2)]
    assert one[0] == 0.0 and math.isclose(math.exp(one[1]), 2.0, rel_tol=0.05)
    per_tile = float(flicker_excess(fake, real2, 4, per_tile=True))
    assert math.isclose(per_tile, sum(one) / 2, rel_tol=1e-5)
    assert float(flicker_excess(fake, real2, 4)) < 0.2 * per_tile
    for i in range(2):  # one tile alone: the two forms agree
        a, b = [f[i:i + 1] for f in fake], [r[i:i + 1] for r in real2]
        assert math.isclose(float(flicker_excess(a, b, 4, per_tile=True)),
                            float(flicker_excess(a, b, 4)), rel_tol=1e-5, abs_tol=1e-7)


def test_temporal_discriminator_loss_adds_weighted_negatives():
    """dt mode with negatives: Eq. 3.1 on (real, generated) plus w x the negatives'
    cross-entropy as generated, all from one D_t call."""
    from billow.run.gan import discriminator_loss
    from billow.train.losses import negative_loss

    g = torch.Generator().manual_seed(4)
    mode = temporal_mode("dt", factor=4, context=1)
    dt = TemporalDiscriminator(2, 24).eval()  # no spectral-norm power step between calls
    frames = [torch.rand(2, 1, 32, 32, generator=g) for _ in range(3)]
    fake = [torch.rand(2, 1, 32, 32, generator=g) for _ in range(3)]
    neg = [f + 0.1 for f in frames]
    lr = [torch.rand(2, 3, 8, 8, generator=g) * 0.1 for _ in range(3)]
    plain = mode.discriminator_loss(fake, frames, lr, dt)
    assert mode.last_negative_logits is None
    with_neg = mode.discriminator_loss(fake, frames, lr, dt, neg, 0.5)
    logit_neg, _ = dt(mode.align(neg, lr))
    expected = plain + 0.5 * negative_loss(logit_neg)
    assert math.isclose(float(with_neg), float(expected), rel_tol=1e-5)
    assert torch.allclose(mode.last_negative_logits, logit_neg.detach(), atol=1e-6)
    assert math.isclose(float(negative_loss(torch.zeros(3))), math.log(2.0), rel_tol=1e-6)
    logit_r, _ = dt(mode.align(frames, lr))
    logit_f, _ = dt(mode.align(fake, lr))
    assert math.isclose(float(plain), float(discriminator_loss(logit_r, logit_f)), rel_tol=1e-5)
