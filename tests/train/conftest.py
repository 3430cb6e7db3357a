"""Tiny synthetic `billow-pairs/1` datasets (advected noise blobs, derived with ops.downsample),
so the training tests do not depend on the solver."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from billow.ops import advect, downsample, downsample_velocity, gaussian_blur


def make_dataset(root: Path, dim: int = 2, sims: int = 3, frames: int = 5, lr: int = 20,
                 factor: int = 4, seed: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    hr = lr * factor
    entries = []
    for s in range(sims):
        shape = (1, 1) + (hr,) * dim
        rho = gaussian_blur(torch.rand(shape, generator=g), 2.0)
        rho = (rho - rho.mean()).clamp(min=0) * 8 + 0.05  # detailed, well above 0.02
        # smooth swirling velocity in high-res cells per frame (|v| < 4 = 1 low-res cell)
        sigma = 6.0 if dim == 2 else 3.0
        vel = gaussian_blur(torch.randn((1, dim) + (hr,) * dim, generator=g), sigma)
        vel = vel / vel.abs().max() * 2.5
        dens, vels = [], []
        for _ in range(frames):
            dens.append(rho[0, 0])
            vels.append(vel[0])
            rho = advect(rho, vel)
        d = torch.stack(dens).unsqueeze(1)  # (T, 1, *S)
        v = torch.stack(vels)  # (T, D, *S)
        name = f"sim_{s:04d}.npz"
        np.savez_compressed(root / name,
                            hr_density=d[:, 0].numpy().astype(np.float16),
                            hr_velocity=v.numpy().astype(np.float16),
                            lr_density=downsample(d, factor)[:, 0].numpy().astype(np.float16),
                            lr_velocity=downsample_velocity(v, factor).numpy()
                            .astype(np.float16))
        entries.append({"id": f"sim_{s:04d}", "file": name, "seed": s, "scene": "noise"})
    manifest = {"format": "billow-pairs/1", "dim": dim, "factor": factor, "hr_res": hr,
                "lr_res": lr, "frames": frames, "sims": entries}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread (spinning OpenMP threads on a shared 2-core machine
    cost more than they gain)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def data2d(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("pairs2d"), dim=2)


@pytest.fixture(scope="session")
def data3d(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("pairs3d"), dim=3, sims=2, frames=4, lr=8)
