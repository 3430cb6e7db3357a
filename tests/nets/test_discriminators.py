"""Discriminators: shapes, conditioning, and that an adversarial term can actually pull."""

from __future__ import annotations

import pytest
import torch
from billow.nets import SpatialDiscriminator, TemporalDiscriminator
from billow.ops import gaussian_blur
from billow.run.gan import accuracy, discriminator_loss


@pytest.mark.parametrize("dim, norm", [(2, "sn"), (2, "bn"), (3, "sn")])
def test_shapes_and_features(dim, norm):
    ds = SpatialDiscriminator(dim, 16, norm=norm)
    dt = TemporalDiscriminator(dim, 16, norm=norm)
    lr = torch.rand(3, 1, *([4] * dim))
    hr = torch.rand(3, 1, *([16] * dim))
    logit, feats = ds(lr, hr)
    assert logit.shape == (3,) and len(feats) == 4
    assert feats[0].shape[2:] == (8,) * dim and feats[3].shape[2:] == (2,) * dim
    logit_t, _ = dt(torch.rand(3, 3, *([16] * dim)))
    assert logit_t.shape == (3,)


def test_spatial_discriminator_sees_the_condition():
    torch.manual_seed(0)
    ds = SpatialDiscriminator(2, 16, norm="none")
    hr = torch.rand(2, 1, 16, 16)
    a, _ = ds(torch.zeros(2, 1, 4, 4), hr)
    b, _ = ds(torch.ones(2, 1, 4, 4), hr)
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("norm", ["sn", "bn"])
def test_discriminator_separates_real_from_generated(norm):
    """Real tiles have small-scale detail, 'generated' ones are blurred (what an L1-only
    generator makes): D must tell them apart within a few steps, leaving chance (2 ln 2)."""
    torch.manual_seed(0)
    d = SpatialDiscriminator(2, 16, norm=norm)
    opt = torch.optim.Adam(d.parameters(), lr=4e-4, betas=(0.5, 0.999))
    real = torch.rand(8, 1, 16, 16)
    fake = gaussian_blur(real, 1.5)
    lr = gaussian_blur(real, 2.0)[:, :, 1::4, 1::4]
    for _ in range(30):
        lr_r, lf = d(lr, real)[0], d(lr, fake)[0]
        loss = discriminator_loss(lr_r, lf)
        opt.zero_grad()
        loss.backward()
        opt.step()
    d.eval()
    with torch.no_grad():
        lr_r, lf = d(lr, real)[0], d(lr, fake)[0]
    acc_real, acc_fake = accuracy(lr_r, lf)
    assert acc_real >= 0.9 and acc_fake >= 0.9
    assert float(discriminator_loss(lr_r, lf)) < 1.0  # far below 2 ln 2 = 1.386
