"""Loss terms of the temporal UV generator (Sec. 5.2.4, Eq. 5.12-5.18, App. C.1).

Shapes: UV maps `(N, 2, H, W)`, masks and foreground probabilities `(N, 1, H, W)`, images
`(N, 3, H, W)`, logits `(N, K, H, W)` (class 0 = background); discriminator outputs are
logits `(N,)`. Every term is a per-element mean, so a weight means the same for any batch or
crop size.

The adversarial terms (L_s^uv Eq. 5.13, L_t^uv Eq. 5.15, L_t^img Eq. 5.17 and their
discriminators' losses) are the GAN loss core both products share, `billow.run.gan`: it takes
logits and applies the sigmoid once (the public code put a sigmoid in the network AND in the
loss). At chance a discriminator's loss is 2 ln 2.

What the discriminators see: a UV frame masked by its silhouette, `uv * mask` for P^f and
`uv * p_fg` for G (p_fg = `nets.foreground_probability`), so the silhouette is judged too and
its gradient reaches G's class logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import atlas

def supervised_l2(uv: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 5.12: ||G(P^r) - P^f||^2 over the target silhouette (P^f has no UVs elsewhere;
    the background is L_I's job), per element."""
    m = mask.to(uv.dtype)
    return ((uv - target) ** 2 * m).sum() / (2 * m.sum()).clamp_min(1.0)


def part_targets(target: torch.Tensor, mask: torch.Tensor, classes: int) -> torch.Tensor:
    """(N, H, W) int64 class of each pixel of P^f: 0 background, else the atlas part of its
    UV (classes = 25) or 1 (classes = 2)."""
    m = mask[:, 0] > 0.5
    if classes == 2:
        return m.long()
    gu = (target[:, 0].clamp(0, 1 - 1e-6) * atlas.COLS).floor()
    gy = ((1 - target[:, 1]).clamp(0, 1 - 1e-6) * atlas.ROWS).floor()
    part = (gu * atlas.ROWS + gy + 1).long()  # atlas.uv_to_iuv, in torch
    return torch.where(m, part, torch.zeros_like(part))


def part_cross_entropy(logits: torch.Tensor, target: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
    """Eq. C.1: L_I = -e_{[P^f]_I} log G_I(P^r), the cross-entropy of the class logits against
    the part (or background) of P^f, per pixel."""
    return F.cross_entropy(logits, part_targets(target, mask, logits.shape[1]))


def smoothing(uv3: list[torch.Tensor]) -> torch.Tensor:
    """Eq. 5.14: L_smo = ||G_{t-1} - G_t||^2 + ||G_t - G_{t+1}||^2
    + ||G_{t-1} - 2 G_t + G_{t+1}||^2 (first and second differences), per element."""
    a, b, c = uv3
    return F.mse_loss(a, b) + F.mse_loss(b, c) + ((a - 2 * b + c) ** 2).mean()


def image_l2(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Eq. 5.16: L_s^img = ||I_g - I||^2 with I_g = W(T_o, w_I(G(P^r))), per element."""
    return F.mse_loss(image, reference)


class ClipGrad(torch.autograd.Function):
    """Identity forward; backward clips the gradient's L2 norm per sample to `max_norm`.

    App. C.1 clips the gradients of the image-space terms (L_s^img, L_t^img): G's outputs
    pass through this before the warp, so only those terms are clipped.
    """

    @staticmethod
    def forward(ctx, x, max_norm: float):
        ctx.max_norm = max_norm
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
        scale = (ctx.max_norm / norm).clamp(max=1.0)
        return grad * scale.view(-1, *([1] * (grad.dim() - 1))), None


def clip_grad(x: torch.Tensor, max_norm: float) -> torch.Tensor:
    return ClipGrad.apply(x, max_norm) if max_norm > 0 else x


# Eq. 5.18 and App. C.1: each weight's starting value and its factor per `every` steps
# (decreasing for the supervised/spatial terms, increasing for the temporal/image terms).
PAPER_WEIGHTS = {"l2": 200.0, "uv_s": 10.0, "smo": 0.1, "uv_t": 1.0, "img_s": 0.001,
                 "img_t": 1.0}
PAPER_RATES = {"l2": 0.99, "uv_s": 0.99, "smo": 1.01, "uv_t": 1.01, "img_s": 1.01,
               "img_t": 1.01}

# Which terms each ablation variant of Sec. 5.3 trains G with (L_I always, for IUV input).
VARIANT_TERMS = {
    "v1": ("l2", "uv_s"),
    "v2": ("l2", "uv_s", "smo", "uv_t"),
    "v3": ("l2", "uv_s", "smo", "uv_t", "img_s", "img_t"),
}


def weights_at(step: int, start: dict, rates: dict, every: int, terms) -> dict:
    """lambda_k(step) = start_k * rate_k ** (step // every) for the terms in use, 0 otherwise."""
    k = step // max(every, 1)
    return {name: (start[name] * rates[name] ** k if name in terms else 0.0) for name in start}
