"""Loss terms Eq. 5.12-5.18 and C.1 on tiny tensors: values against hand-computed ones, the
single sigmoid, masks, gradients through the warp, clipping and the weight schedule."""

from __future__ import annotations

import math

import numpy as np
import torch
from billow.uv import atlas, warp
from billow.uv import losses as L
from billow.uv.training import UVTrainConfig, effective_weights


def test_supervised_l2_counts_only_the_target_silhouette():
    uv = torch.zeros(1, 2, 2, 2)
    target = torch.full((1, 2, 2, 2), 0.5)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    # one valid pixel, two channels, each off by 0.5: mean of squares 0.25
    assert math.isclose(float(L.supervised_l2(uv, target, mask)), 0.25)
    uv[:, :, 1, 1] = 9.0  # outside the mask: ignored
    assert math.isclose(float(L.supervised_l2(uv, target, mask)), 0.25)


def test_part_cross_entropy_matches_the_atlas_parts():
    rng = np.random.default_rng(0)
    i = rng.integers(0, 25, (1, 5, 6))
    uv, mask = atlas.iuv_to_uv(i, rng.uniform(0.05, 0.95, i.shape), rng.uniform(0.05, 0.95,
                                                                                i.shape))
    t_uv = torch.from_numpy(uv).permute(0, 3, 1, 2)
    t_m = torch.from_numpy(mask[:, None].astype(np.float32))
    parts = L.part_targets(t_uv, t_m, 25)
    assert np.array_equal(parts.numpy(), np.where(mask, i, 0))
    assert np.array_equal(L.part_targets(t_uv, t_m, 2).numpy(), mask.astype(np.int64))
    good = torch.nn.functional.one_hot(parts, 25).permute(0, 3, 1, 2).float() * 20
    assert float(L.part_cross_entropy(good, t_uv, t_m)) < 1e-6
    assert math.isclose(float(L.part_cross_entropy(torch.zeros(1, 25, 5, 6), t_uv, t_m)),
                        math.log(25), rel_tol=1e-6)


def test_smoothing_first_and_second_differences():
    a = torch.zeros(1, 2, 3, 3)
    assert float(L.smoothing([a, a, a])) == 0.0
    # linear motion: first differences d each, second difference zero
    d = 0.1
    lin = [a, a + d, a + 2 * d]
    assert math.isclose(float(L.smoothing(lin)), 2 * d * d, rel_tol=1e-5)
    # a jitter (back and forth) adds the second difference (2d)^2 ... = 4d^2
    jit = [a, a + d, a]
    assert math.isclose(float(L.smoothing(jit)), 2 * d * d + 4 * d * d, rel_tol=1e-5)


def test_image_l2_gradient_reaches_the_uvs_through_the_warp():
    gen = torch.Generator().manual_seed(0)
    tex = torch.rand(1, 3, 12, 8, generator=gen)
    uv = (torch.rand(1, 2, 6, 6, generator=gen) * 0.8 + 0.1).requires_grad_(True)
    ones = torch.ones(1, 6, 6, dtype=torch.bool)
    ref = warp.sample(tex, (uv.detach() + 0.03).permute(0, 2, 3, 1), ones)
    img = warp.sample(tex, uv.permute(0, 2, 3, 1), ones)
    loss = L.image_l2(img, ref)
    loss.backward()
    assert float(loss.detach()) > 0 and float(uv.grad.abs().sum()) > 0
    assert torch.equal(L.image_l2(ref, ref), torch.tensor(0.0))


def test_clip_grad_limits_each_samples_gradient_norm():
    x = torch.ones(2, 3, requires_grad=True)
    y = L.clip_grad(x, 1.0)
    assert torch.equal(y, x)
    (y * torch.tensor([[10.0], [0.1]])).sum().backward()
    norms = x.grad.norm(dim=1)
    assert math.isclose(float(norms[0]), 1.0, rel_tol=1e-5)  # clipped
    assert math.isclose(float(norms[1]), 0.1 * math.sqrt(3), rel_tol=1e-5)  # untouched
    assert L.clip_grad(x, 0) is x


def test_weight_schedule_decays_and_increases_per_interval():
    cfg = UVTrainConfig(variant="v3", iterations=100, pretrain=40, weight_every=10, crop=32)
    w0, w1 = effective_weights(cfg, 9), effective_weights(cfg, 10)
    px = 32 * 32
    assert math.isclose(w0["l2"], 200 * 2 * px) and math.isclose(w1["l2"], 0.99 * w0["l2"])
    assert math.isclose(w1["uv_s"], 10 * 0.99) and math.isclose(w1["smo"], 0.1 * 2 * px * 1.01)
    assert w0["img_s"] == 0 and w0["img_t"] == 0  # stage 1 of v3: L_G1 only (Eq. 5.19)
    w5 = effective_weights(cfg, 50)
    assert math.isclose(w5["img_s"], 0.001 * 3 * px * 1.01 ** 5)
    assert math.isclose(w5["img_t"], 1.01 ** 5)
    v1 = effective_weights(UVTrainConfig(variant="v1"), 0)
    assert v1["smo"] == v1["uv_t"] == v1["img_s"] == v1["img_t"] == 0 and v1["uv_s"] > 0
