"""The pieces of a training loop both trainers share: the device and multi-GPU set-up, Adam
optimisers and the update step, and the process-wide torch settings a run holds while it
trains."""

from __future__ import annotations

import contextlib
import os

import torch

from ..errors import InputError


def distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) under torchrun, (0, 1, 0) otherwise."""
    return (int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
            int(os.environ.get("LOCAL_RANK", "0")))


def select_device(choice: str, local_rank: int = 0) -> torch.device:
    """--device auto/cpu/cuda as a torch device (this rank's GPU under torchrun); asking for
    CUDA without it is an error, never a silent fall-back."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device available")
    use_cuda = choice == "cuda" or (choice == "auto" and torch.cuda.is_available())
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    return device


def adam(nets: dict, lr: float, beta1: float, scale: dict | None = None) -> dict:
    """One Adam optimiser per network (betas (beta1, 0.999)); `scale` multiplies the learning
    rate of the networks it names."""
    scale = scale or {}
    return {k: torch.optim.Adam(m.parameters(), lr=lr * scale.get(k, 1), betas=(beta1, 0.999))
            for k, m in nets.items()}


def update(opt: torch.optim.Optimizer, loss: torch.Tensor, clip: float = 0.0) -> float | None:
    """One optimiser step on `loss`; with `clip` > 0 the gradients' global norm is first
    scaled down to at most `clip`, and the norm before that is returned. Why: Adam divides by
    a running mean of squared gradients, so one spike both takes an outsized step and then
    shrinks every later step for thousands of iterations (issue 17, session 14: an L1 stage at
    lr 5e-4 fell back to its zero-residual losses in 50 iterations and never recovered)."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = None
    if clip > 0:
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        norm = float(torch.nn.utils.clip_grad_norm_(params, clip))
    opt.step()
    return norm


@contextlib.contextmanager
def runtime(threads: int, deterministic: bool):
    """Thread count (0: torch's default) and deterministic kernels (on CPU, where runs must
    repeat for a seed) for the duration of training only: both are process-wide settings."""
    old, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    warn = torch.is_deterministic_algorithms_warn_only_enabled()
    if threads > 0:
        torch.set_num_threads(threads)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old)
        torch.use_deterministic_algorithms(det, warn_only=warn)
