"""The reverse-pass regulariser (ch. 4): transposed convolutions with shared weights."""

from __future__ import annotations

import pytest
import torch
from billow.nets import GeneratorConfig, ReversePass, build_generator, conv_transpose
from torch import nn


@pytest.mark.parametrize("dim", [2, 3])
def test_reverse_of_conv_is_its_transpose(dim):
    """<W x, y> = <x, W^T y>: the reverse pass uses the adjoint of the forward conv."""
    torch.manual_seed(0)
    conv = (nn.Conv2d if dim == 2 else nn.Conv3d)(3, 5, 5, padding=2).double()
    x = torch.randn(2, 3, *([6] * dim), dtype=torch.float64)
    y = torch.randn(2, 5, *([6] * dim), dtype=torch.float64)
    wx = conv(x) - conv.bias.reshape(1, -1, *([1] * dim))
    assert torch.allclose((wx * y).sum(), (x * conv_transpose(conv, y + conv.bias.reshape(
        1, -1, *([1] * dim)))).sum())


class _Orthogonal(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.a = nn.Conv2d(c, c, 1)
        self.b = nn.Conv2d(c, c, 1)
        for conv in (self.a, self.b):
            q, _ = torch.linalg.qr(torch.randn(c, c))
            conv.weight.data = q.reshape(c, c, 1, 1)

    def forward(self, x):
        return self.b(self.a(x))

    def rr_chains(self):
        return [[(self.a, lambda t: t), (self.b, lambda t: t)]]


@pytest.mark.parametrize("mode", ["local", "full"])
def test_orthogonal_1x1_kernel_reaches_zero_loss(mode):
    torch.manual_seed(0)
    net = _Orthogonal(4)
    rr = ReversePass(net, mode, lam=1.0)
    with rr.capture():
        net(torch.randn(2, 4, 5, 5))
    assert float(rr.loss().detach()) < 1e-10
    # a non-orthogonal kernel is penalised
    net.a.weight.data *= 2
    with rr.capture():
        net(torch.randn(2, 4, 5, 5))
    assert float(rr.loss().detach()) > 1e-3


@pytest.mark.parametrize("mode", ["local", "full"])
def test_paper_generator_reverse_pass(mode):
    g = build_generator(GeneratorConfig(generator="paper", dim=2))
    rr = ReversePass(g, mode, lam=1.0)
    assert sum(len(c) for c in rr.chains) == 12  # 3 convs x 4 residual blocks
    with rr.capture():
        g(torch.rand(2, 3, 3, 3))
    loss = rr.loss()
    assert torch.isfinite(loss) and float(loss.detach()) > 0
    loss.backward()
    assert g.blocks[1].a.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", ["local", "full"])
def test_generator_reverse_pass_trains(mode):
    torch.manual_seed(0)
    g = build_generator(GeneratorConfig(generator="fast", dim=2, width=8, blocks=1,
                                        mid_channels=4))
    rr = ReversePass(g, mode, lam=1.0)
    opt = torch.optim.Adam(g.parameters(), lr=3e-3)
    x = torch.rand(2, 3, 6, 6)
    losses = []
    for _ in range(15):
        with rr.capture():
            g(x)
        loss = rr.loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]
    # outside capture() nothing is recorded and the loss is zero
    g(x)
    assert float(rr.loss()) == 0.0
    rr.remove()
