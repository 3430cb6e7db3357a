"""The smooth generator's `output_form: "gain"`: the base times a bounded positive gain of the
residual, then multiplicative back-projection, so the output is positive with no clamp."""

from __future__ import annotations

import itertools

import pytest
import torch
from billow.nets import GeneratorConfig, build_generator
from billow.nets.generators import GAIN_LIMIT, residual_gain
from billow.ops import block_means, interpolate_linear, interpolate_smooth, project_block_ratios


def _gen(**kw):
    torch.manual_seed(1)
    cfg = GeneratorConfig(generator="smooth", dim=3, width=8, blocks=1, mid_channels=4,
                          fine_channels=4, detail_gate="speed", projection="block",
                          output_form="gain", **kw)
    return build_generator(cfg).eval()


def _input(seed=0, shape=(1, 4, 6, 7, 5)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    x[:, :1] = torch.rand((shape[0], 1) + shape[2:], generator=g) ** 3  # thin and dense smoke
    x[:, :1, 2] = 0.0  # an empty slab
    return x


def test_gain_is_bounded_positive_and_one_at_zero():
    r = torch.linspace(-100, 100, 401)
    gain = residual_gain(r)
    assert float(gain.min()) > 0 and float(gain.max()) <= torch.exp(torch.tensor(GAIN_LIMIT))
    assert torch.equal(residual_gain(torch.zeros(3)), torch.ones(3))
    assert bool((gain[1:] >= gain[:-1]).all())  # monotone: more residual, more smoke


@pytest.mark.parametrize("base", ["linear", "smooth"])
def test_zero_residual_gives_the_projected_base(base):
    """The output conv starts at zero, so a fresh model is the projected base; the smooth base
    is projected with its own kernel."""
    g = _gen(base_interpolation=base)
    x = _input()
    up = interpolate_linear if base == "linear" else interpolate_smooth
    with torch.no_grad():
        st = g.stages(x)
        want = project_block_ratios(up(x[:, :1], 4), x[:, :1], 4, up)
    torch.testing.assert_close(st["output"], want)


@pytest.mark.parametrize("base", ["linear", "smooth"])
def test_output_is_positive_without_a_clamp_and_follows_the_input_blocks(base):
    up = interpolate_linear if base == "linear" else interpolate_smooth
    g = _gen(projection_steps=3, base_interpolation=base)
    with torch.no_grad():
        for p in g.parameters():  # a residual with something to say, far beyond the gain's range
            p.add_(2.0 * torch.randn_like(p))
        x = _input(seed=3)
        st = g.stages(x)
    assert torch.equal(st["sum"], st["clamped"])  # no clamp anywhere
    assert float(st["output"].min()) >= 0
    lr = x[:, :1]
    smoke = lr > 0.05

    def err(y):
        return float(((block_means(y, 4) - lr).abs()[smoke] / lr[smoke]).median())

    # each multiplicative step brings the block means closer to the input's (the smooth
    # kernel spreads each block's correction over its neighbours, so more slowly)
    shrink = 0.8 if base == "linear" else 0.9
    y, errs = st["clamped"], []
    for _ in range(4):
        errs.append(err(y))
        y = project_block_ratios(y, lr, 4, up)
    assert errs[0] > 0.3 and all(b < shrink * a for a, b in itertools.pairwise(errs)), errs
    torch.testing.assert_close(err(st["output"]), errs[3])


@pytest.mark.parametrize("base", ["linear", "smooth"])
def test_amplitude_equivariance_with_frame_normalisation(base):
    """upres(k x density) = k x upres(density): the gain reads normalised inputs, and the
    projection's ratio is taken in those units."""
    g = _gen(normalise="frame", base_interpolation=base)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.5 * torch.randn_like(p))
    x = _input(seed=5)
    from billow.ops.normalise import frame_scales

    def up(k):
        rho = (x[0, 0] * k).numpy()
        vel = x[0, 1:4].permute(1, 2, 3, 0).numpy()
        s_d, s_v = frame_scales(rho, vel)
        xn = torch.cat([torch.from_numpy(rho / s_d)[None, None],
                        x[:, 1:4] / s_v, torch.ones_like(x[:, :1])], 1)
        with torch.no_grad():
            return g(xn) * s_d

    base = up(1.0)
    for k in (0.1, 10.0):  # the benchmark's measure: relative L1 of upres(k x) / k to upres(x)
        rel = float((up(k) / k - base).abs().sum() / base.abs().sum())
        assert rel < 1e-5, (k, rel)


@pytest.mark.parametrize("kw", [{"base_interpolation": "tricubic"}])
def test_gain_needs_the_smooth_generator_with_a_positive_base(kw):
    from billow.errors import InputError
    from billow.train import resolve

    with pytest.raises(InputError, match="--output-form gain"):
        resolve(None, generator="smooth", output_form="gain", **kw)
    with pytest.raises(InputError, match="--output-form gain"):
        resolve(None, generator="fast", output_form="gain")
    for base in ("linear", "smooth"):  # the positive bases
        resolve(None, generator="smooth", output_form="gain", base_interpolation=base)
