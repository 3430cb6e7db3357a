"""Synthetic smoke for the metrics tests: analytic blobs, transported detail, and paired
high-res / low-res VDB sequences written with billow's own I/O."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from billow.io import SmokeFrame, Volume, upres_matrix, write_smoke_frame
from billow.ops import advect, downsample, downsample_velocity


def gaussian_blob(shape, centre, radius) -> torch.Tensor:
    axes = [torch.arange(n, dtype=torch.float32) for n in shape]
    grids = torch.meshgrid(*axes, indexing="ij")
    r2 = sum((g - c) ** 2 for g, c in zip(grids, centre))
    return torch.exp(-r2 / (2.0 * radius**2))


def band_noise(shape, seed, sigma=1.0) -> torch.Tensor:
    """Fine random detail: white noise minus its blur, smoothed a little."""
    from billow.ops import gaussian_blur

    g = torch.Generator().manual_seed(seed)
    n = torch.randn(shape, generator=g)[None, None]
    return (gaussian_blur(n, sigma) - gaussian_blur(n, 3 * sigma))[0, 0]


def transported_sequence(shape, frames, velocity, seed=0, detail=0.3):
    """A blob with fine detail advected by a constant velocity (cells/frame): returns
    (list of [x, y, z] frames, velocity field [3, x, y, z])."""
    centre = [n * 0.4 for n in shape]
    y = gaussian_blob(shape, centre, shape[0] / 7)
    y = (y * (1 + detail * band_noise(shape, seed) / 0.1)).clamp(min=0)
    v = torch.tensor(velocity, dtype=torch.float32).reshape(3, 1, 1, 1).expand(3, *shape)
    v = v.contiguous()
    out = [y]
    for _ in range(frames - 1):
        y = advect(y[None, None], v[None], order="maccormack")[0, 0]
        out.append(y)
    return out, v


def lr_matrix(voxel=0.4, origin=(1.0, -2.0, 0.5)):
    m = np.diag([voxel, voxel, voxel, 1.0])
    m[3, :3] = origin
    return m


def write_sequence(folder, name, frames, velocity, matrix, offset=(0, 0, 0), start=1):
    """Write `frames` ([x, y, z] tensors) with a constant velocity (cells/frame of this grid)
    as folder/name.####.vdb; returns the pattern."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, y in enumerate(frames):
        path = folder / f"{name}.{start + i:04d}.vdb"
        dens = Volume("density", np.ascontiguousarray(y.numpy(), np.float32), offset, matrix)
        vel = None
        if velocity is not None:
            vel = Volume("vel", np.ascontiguousarray(velocity.permute(1, 2, 3, 0).numpy()),
                         offset, matrix, vector_type="contravariant relative")
        write_smoke_frame(path, SmokeFrame(path, dens, vel, {}, {"fps": 24.0}))
    return str(folder / f"{name}.####.vdb")


@pytest.fixture
def paired(tmp_path):
    """High-res 32^3 reference (4 frames) and its 4x-downsampled 8^3 input, as VDB sequences."""
    hr, v = transported_sequence((32, 32, 32), 4, (0.6, 0.4, 0.0))
    lr = [downsample(y[None, None], 4)[0, 0] for y in hr]
    v_lr = downsample_velocity(v[None], 4)[0]
    m = lr_matrix()
    return {
        "input": write_sequence(tmp_path / "lr", "smoke", lr, v_lr, m, offset=(2, 0, -1)),
        "reference": write_sequence(tmp_path / "hr", "smoke", hr, v, upres_matrix(m, 4),
                                    offset=(8, 0, -4)),
        "matrix": m, "dir": tmp_path, "hr": hr, "lr": lr, "v_lr": v_lr,
    }
