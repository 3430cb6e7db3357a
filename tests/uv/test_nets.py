"""The temporal UV networks (Fig. C.1, C.2): shapes, residual over valid input, receptive
radius, logits without a sigmoid."""

from __future__ import annotations

import torch
from billow.uv import nets
from torch import nn

SMALL = nets.UVNetConfig(blocks=2, width=8, d_width=8)


def _randomise_tail(g: nets.UVGenerator, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        g.tail.weight.copy_(torch.randn(g.tail.weight.shape, generator=gen) * 0.05)
        g.tail.bias.copy_(torch.randn(g.tail.bias.shape, generator=gen) * 0.05)


def _raw(n=2, h=32, w=40, seed=0):
    gen = torch.Generator().manual_seed(seed)
    uv = torch.rand(n, 2, h, w, generator=gen)
    mask = torch.zeros(n, 1, h, w)
    mask[:, :, 8:24, 10:30] = 1
    return torch.cat([uv * mask, mask], 1)


def test_generator_shapes_range_and_initial_copy():
    torch.manual_seed(0)
    g = nets.UVGenerator(SMALL).eval()
    x = _raw()
    uv, logits = g(x)
    assert uv.shape == (2, 2, 32, 40) and logits.shape == (2, 25, 32, 40)
    # zero-initialised tail: G starts as "copy the valid input, 0.5 elsewhere"
    m = x[:, 2:] > 0.5
    assert torch.equal(uv.masked_select(m.expand_as(uv)), x[:, :2].masked_select(m.expand_as(uv)))
    assert torch.allclose(uv.masked_select(~m.expand_as(uv)), torch.tensor(0.5))
    _randomise_tail(g)
    with torch.no_grad():
        uv, _ = g(x * 3 - 1)  # even for nonsense input the UVs stay in [0, 1]
    assert float(uv.min()) >= 0 and float(uv.max()) <= 1


def test_residual_only_where_input_is_valid():
    torch.manual_seed(1)
    g = nets.UVGenerator(SMALL).eval()
    _randomise_tail(g)
    x = _raw()
    with torch.no_grad():
        uv, _ = g(x)
    m = (x[:, 2:] > 0.5).expand(-1, 2, -1, -1)
    delta = (uv - x[:, :2])[m]
    # inside: input + residual_scale * (small output); far from the input elsewhere
    assert float(delta.abs().max()) < 0.2
    two = nets.UVGenerator(nets.UVNetConfig(blocks=1, width=8, classes=2)).eval()
    assert two(x)[1].shape[1] == 2


def test_receptive_radius_bounds_the_influence():
    torch.manual_seed(2)
    g = nets.UVGenerator(SMALL).eval()
    _randomise_tail(g)
    r = g.receptive_radius
    size = 2 * r + 24
    size += -size % g.cfg.stride
    x = _raw(1, size, size)
    c = size // 2
    with torch.no_grad():
        base = torch.cat(g(x), 1)[0, :, c, c]
        far = x.clone()
        far[:, :, c + r + 1, :] += 0.7  # a row beyond the radius: no effect on pixel (c, c)
        far[:, :, :, c - r - 1] += 0.7
        assert torch.equal(torch.cat(g(far), 1)[0, :, c, c], base)
        near = x.clone()
        near[:, :, c + 2, c] += 0.7  # a close pixel: some effect
        assert not torch.equal(torch.cat(g(near), 1)[0, :, c, c], base)
    assert g.halo >= r and g.halo % g.cfg.stride == 0


def test_discriminators_output_logits_once():
    torch.manual_seed(3)
    for make, c in ((nets.spatial_discriminator, 2), (nets.temporal_discriminator, 6),
                    (nets.image_discriminator, 9)):
        d = make(SMALL, 32)
        assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())
        with torch.no_grad():
            out = d(torch.randn(5, c, 32, 32) * 50)
        assert out.shape == (5,)
        # raw logits: unbounded, not squashed into (0, 1)
        assert float(out.min()) < 0 or float(out.max()) > 1
    assert nets.Encoder(3, 48, 8)(torch.zeros(1, 3, 48, 48)).shape == (1,)


def test_decode_mask_is_not_background():
    uv = torch.rand(1, 2, 4, 4)
    logits = torch.zeros(1, 25, 4, 4)
    logits[0, 0, :2] = 10  # top half background
    logits[0, 3, 2:] = 5
    u, mask, part = nets.decode(uv, logits)
    assert u.shape == (1, 4, 4, 2)
    assert not mask[0, :2].any() and mask[0, 2:].all() and (part[0, 2:] == 3).all()
    p = nets.foreground_probability(logits)
    assert p.shape == (1, 1, 4, 4) and float(p[0, 0, 0, 0]) < 0.01
