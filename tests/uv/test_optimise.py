"""UV optimisation (Sec. 5.2.2, Eq. 5.10): the loss falls, a perturbed ground truth recovers."""

import numpy as np
import pytest
import torch
from billow.uv import optimise as op
from billow.uv import warp

from . import toy_sequence


def _perturbed(frames=2, sigma_texels=1.0, seed=0):
    seq = toy_sequence.make(frames=frames)
    rng = np.random.default_rng(seed)
    gt, fg, size = seq["gt"], seq["fg"], seq["size"]
    noise = rng.normal(0.0, sigma_texels, gt.shape) / np.array([size[1], size[0]])
    return seq, (gt + noise * fg[..., None]).astype(np.float32)


def test_loss_decreases_and_uv_error_to_ground_truth_drops():
    seq, noisy = _perturbed()
    fg, size = seq["fg"], seq["size"]
    before = op.uv_error(noisy, fg, seq["gt"], fg, size)
    steps = []
    out, log = op.optimise(noisy, fg, seq["rgb"], size, op.OptimiseConfig(iters=60, alpha1=10.0,
                           alpha2=1.0), on_step=lambda c, it, e: steps.append(e["loss"]))
    assert len(steps) == 60 and log[0]["iter"] == 0 and log[-1]["iter"] == 60
    assert log[-1]["loss"] < 0.6 * log[0]["loss"]
    assert log[-1]["app"] < log[0]["app"]
    after = op.uv_error(out, fg, seq["gt"], fg, size)
    assert after < 0.8 * before
    assert np.all(out[~fg] == 0)


def test_default_weights_still_descend():
    seq, noisy = _perturbed(frames=1)
    _, log = op.optimise(noisy, seq["fg"], seq["rgb"], seq["size"], op.OptimiseConfig(iters=20))
    assert op.OptimiseConfig().alpha1 == 100.0 and op.OptimiseConfig().alpha2 == 10.0
    assert log[-1]["loss"] < log[0]["loss"]


def test_chunks_optimise_the_same_frames():
    seq, noisy = _perturbed(frames=2)
    cfg = op.OptimiseConfig(iters=3)
    whole, _ = op.optimise(noisy, seq["fg"], seq["rgb"], seq["size"], cfg)
    chunked, log = op.optimise(noisy, seq["fg"], seq["rgb"], seq["size"],
                               op.OptimiseConfig(iters=3, batch=1))
    assert {tuple(e["frames"]) for e in log} == {(0, 1), (1, 2)}
    # Adam's steps depend on each chunk's own mean loss, so only approximately equal
    assert np.abs(whole - chunked).max() < 3.0 / seq["size"][0]


def test_regulariser_ignores_atlas_seams():
    part = torch.ones(1, 4, 6, dtype=torch.int64)
    part[:, :, 3:] = 2
    uv = torch.zeros(1, 4, 6, 2)
    uv[:, :, 3:] = 0.5  # a jump between parts: no gradient penalty
    masks = op.smoothness_masks(part)
    grad, hess = op.regulariser(uv, masks, 100.0, 10.0)
    assert float(grad) == 0.0 and float(hess) == 0.0
    uv[:, :, :3, 0] = torch.arange(3.0) * 0.1  # a ramp inside part 1
    grad, hess = op.regulariser(uv, masks, 100.0, 10.0)
    assert float(grad) > 0 and float(hess) == 0.0


def test_gradient_reaches_uv_through_both_warps():
    seq, noisy = _perturbed(frames=1)
    u, m = warp.to_torch_uv(noisy, seq["fg"])
    u.requires_grad_(True)
    img = warp.to_torch_image(seq["rgb"]) * m[:, None]
    op.appearance_loss(img, u, m, seq["size"]).backward()
    assert float(u.grad[m].abs().sum()) > 0 and float(u.grad[~m].abs().sum()) == 0


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="no CUDA device here: the GPU optimisation path is not exercised")
def test_gpu_matches_cpu():
    seq, noisy = _perturbed(frames=1)
    cfg = {"iters": 5}
    cpu, log_cpu = op.optimise(noisy, seq["fg"], seq["rgb"], seq["size"],
                               op.OptimiseConfig(**cfg))
    gpu, log_gpu = op.optimise(noisy, seq["fg"], seq["rgb"], seq["size"],
                               op.OptimiseConfig(device="cuda", **cfg))
    assert abs(log_gpu[-1]["loss"] - log_cpu[-1]["loss"]) < 1e-3 * log_cpu[0]["loss"] + 1e-7
    assert np.abs(gpu - cpu).max() < 0.5 / seq["size"][0]
