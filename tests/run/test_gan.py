"""The GAN loss core both products train with: values against hand-computed ones, the single
sigmoid, chance, and accuracy."""

from __future__ import annotations

import math

import torch
from billow.run.gan import CHANCE, accuracy, discriminator_loss, generator_adversarial


def test_losses_equal_the_cross_entropies_with_one_sigmoid():
    real, fake = torch.tensor([1.5, -0.3]), torch.tensor([0.2, -2.0])
    s = torch.sigmoid
    want = (-torch.log(s(real))).mean() - torch.log(1 - s(fake)).mean()
    assert torch.allclose(discriminator_loss(real, fake), want)
    assert torch.allclose(generator_adversarial(fake), (-torch.log(s(fake))).mean())
    # a double sigmoid (the public temporalUV code's bug) would give a different value
    double = (-torch.log(s(s(real)))).mean() - torch.log(1 - s(s(fake))).mean()
    assert not torch.allclose(discriminator_loss(real, fake), double)


def test_chance_perfect_and_fooled_discriminators():
    zero = torch.zeros(4)
    assert math.isclose(float(discriminator_loss(zero, zero)), CHANCE, rel_tol=1e-6)
    assert math.isclose(CHANCE, 2 * math.log(2))
    sure = torch.full((4,), 20.0)
    assert float(discriminator_loss(sure, -sure)) < 1e-6  # perfect D
    assert float(discriminator_loss(-sure, sure)) > 30  # fooled D
    assert math.isclose(float(generator_adversarial(zero)), math.log(2), rel_tol=1e-6)
    assert float(generator_adversarial(sure)) < 1e-6  # non-saturating: -log D(G(x))


def test_accuracy_counts_each_side():
    real = torch.tensor([1.0, 2.0, -1.0, 0.5])  # 3 of 4 called real
    fake = torch.tensor([-1.0, 1.0])  # 1 of 2 called generated
    assert accuracy(real, fake) == (0.75, 0.5)


def test_both_products_use_this_core():
    from billow.train import trainer
    from billow.uv import training

    assert trainer.discriminator_loss is discriminator_loss
    assert training.gan.generator_adversarial is generator_adversarial
