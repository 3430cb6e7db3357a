"""The advection layer: analytic translation, tile borders with context, gradients."""

from __future__ import annotations

import torch
from billow.nets import AdvectionLayer, FastGenerator, GeneratorConfig, crop
from billow.ops import advect


def test_constant_low_res_velocity_translates_by_factor():
    """0.5 low-res cells/frame = 2 high-res cells/frame: A(y, v) is y shifted by 2 cells."""
    y = torch.rand(1, 1, 24, 20)
    v_lr = torch.zeros(1, 2, 6, 5)
    v_lr[:, 0] = 0.5
    layer = AdvectionLayer(factor=4, context=1)
    out = layer(y, y, y, v_lr, v_lr)  # (1, 3, 16, 12)
    core = crop(y, 4)
    shifted_fwd = y[:, :, 2:-6, 4:-4]  # forward: y(x - 2)
    shifted_bwd = y[:, :, 6:-2, 4:-4]  # backward: y(x + 2)
    assert torch.allclose(out[:, 1:2], core)
    assert torch.allclose(out[:, 0:1], shifted_fwd, atol=1e-6)
    assert torch.allclose(out[:, 2:3], shifted_bwd, atol=1e-6)
    assert layer.last_overflow == 0.0


def test_tile_with_context_matches_whole_field():
    """Advecting a tile cropped with `context` cells of real data equals advecting the whole
    field and cropping; without context the border cells read clamped values instead."""
    torch.manual_seed(0)
    y = torch.rand(1, 1, 48, 48, 8)
    v_lr = torch.randn(1, 3, 12, 12, 2) * 0.4
    whole = AdvectionLayer(4, 0)(y, y, y, v_lr, v_lr)
    lo, hi = 3, 9  # low-res tile core [3, 9) on x and y
    for ctx in (1, 2):
        layer = AdvectionLayer(4, ctx)
        ys = y[:, :, 4 * (lo - ctx): 4 * (hi + ctx), 4 * (lo - ctx): 4 * (hi + ctx)]
        vs = v_lr[:, :, lo - ctx: hi + ctx, lo - ctx: hi + ctx]
        tile = layer(ys, ys, ys, vs, vs)
        ref = whole[:, :, 4 * lo: 4 * hi, 4 * lo: 4 * hi, 4 * ctx: -4 * ctx]
        # z has no real context here (whole volume is only 8 cells): compare x, y borders
        assert torch.allclose(tile, ref, atol=1e-5)
    bare = AdvectionLayer(4, 0)
    ys = y[:, :, 4 * lo: 4 * hi, 4 * lo: 4 * hi]
    vs = v_lr[:, :, lo:hi, lo:hi]
    assert not torch.allclose(bare(ys, ys, ys, vs, vs), whole[:, :, 4 * lo: 4 * hi,
                                                               4 * lo: 4 * hi], atol=1e-3)


def test_gradcheck_advection():
    torch.manual_seed(0)
    y = torch.rand(1, 1, 6, 5, dtype=torch.float64, requires_grad=True)
    v = (torch.rand(1, 2, 6, 5, dtype=torch.float64) - 0.5) * 1.3
    assert torch.autograd.gradcheck(lambda t: advect(t, v), (y,))
    assert torch.autograd.gradcheck(lambda t: advect(t, -v), (y,))
    y3 = torch.rand(1, 1, 4, 3, 4, dtype=torch.float64, requires_grad=True)
    v3 = (torch.rand(1, 3, 4, 3, 4, dtype=torch.float64) - 0.5)
    assert torch.autograd.gradcheck(lambda t: advect(t, v3, order="maccormack"), (y3,))

    def layer(a, b, c):
        return AdvectionLayer(4, 1)(a, b, c, v_lr, v_lr)

    frames = [torch.rand(1, 1, 12, 12, dtype=torch.float64, requires_grad=True)
              for _ in range(3)]
    v_lr = (torch.rand(1, 2, 3, 3, dtype=torch.float64) - 0.5)
    assert torch.autograd.gradcheck(layer, tuple(frames))


def test_gradient_reaches_generator_through_advection():
    g = FastGenerator(GeneratorConfig(dim=2, width=4, blocks=1, mid_channels=2))
    torch.nn.init.normal_(g.up2.weight, std=0.1)
    x = torch.rand(1, 3, 6, 6)
    out = AdvectionLayer(4, 1)(g(x), g(x), g(x), x[:, 1:], x[:, 1:])
    out[:, 0].sum().backward()
    assert g.head.weight.grad is not None and g.head.weight.grad.abs().sum() > 0


def test_advect_through_reads_the_field_once():
    """`advect_through`: whole-cell motion equals repeated advection exactly; uniform sub-cell
    motion equals ONE advection by the summed displacement (composition is exact there) and
    keeps more of the fine detail than three reads."""
    from billow.ops.advect import advect, advect_through

    g = torch.Generator().manual_seed(5)
    y = torch.rand(1, 1, 16, 16, 16, generator=g)
    whole = [torch.zeros(1, 3, 16, 16, 16) for _ in range(3)]
    for k, v in enumerate(whole):
        v[:, k % 3] = 1.0  # one cell per frame, along a different axis each frame
    stepped = y
    for v in whole:
        stepped = advect(stepped, v)
    assert torch.allclose(advect_through(y, whole), stepped, atol=1e-5)
    half = [torch.zeros(1, 3, 16, 16, 16) for _ in range(3)]
    for v in half:
        v[:, 0] = 0.5
    once = advect(y, 3 * half[0])
    assert torch.allclose(advect_through(y, half), once, atol=1e-5)
    stepped = y
    for v in half:
        stepped = advect(stepped, v)
    inner = (slice(None), slice(None), slice(4, -1))  # away from the upwind border

    def detail(x):
        return float((x - x.mean()).pow(2)[inner].mean())

    assert detail(advect_through(y, half)) > 1.2 * detail(stepped)
    assert torch.equal(advect_through(y, []), y)
