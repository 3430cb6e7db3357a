"""The GAN loss core both products train with (dissertation Eq. 3.1/3.2 for smoke, Eq.
5.13/5.15/5.17 for temporalUV: the same two cross-entropies).

Discriminators output logits; the sigmoid is applied once, inside
`binary_cross_entropy_with_logits` (same value as the sigmoid cross-entropy, numerically
stable). At chance a discriminator's loss is 2 ln 2 (ln 2 per class): `CHANCE`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

CHANCE = 2.0 * math.log(2.0)


def discriminator_loss(logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
    """E[-log D(y)] + E[-log(1 - D(G(x)))] (Eq. 3.1; L_D of Eq. 5.13, 5.15, 5.17)."""
    return (F.binary_cross_entropy_with_logits(logit_real, torch.ones_like(logit_real))
            + F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake)))


def generator_adversarial(logit_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating E[-log D(G(x))] (Eq. 3.2; L_s^uv, L_t^uv, L_t^img of Eq. 5.13-5.17)."""
    return F.binary_cross_entropy_with_logits(logit_fake, torch.ones_like(logit_fake))


def accuracy(logit_real: torch.Tensor, logit_fake: torch.Tensor) -> tuple[float, float]:
    """Fraction of real samples called real and of generated samples called generated."""
    return float((logit_real > 0).float().mean()), float((logit_fake < 0).float().mean())
