"""A small bundled smoke frame for first runs and docs (`billow info` on it works anywhere).

`plume_32.vdb` is regenerated, bit for bit, by `python -m billow.samples OUT.vdb`: a puff of
smoke (density, fog volume) rising with a swirl (`vel`, world units per second, y up), 32^3
voxels of 0.05 world units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PLUME = Path(__file__).with_name("plume_32.vdb")


def plume_fields(n: int = 32, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Density `[x, y, z]` in [0, 1] and velocity `[x, y, z, 3]` in world units per second."""
    rng = np.random.default_rng(seed)
    c = (np.arange(n) + 0.5) / n - 0.5
    x, y, z = np.meshgrid(c, c, c, indexing="ij")
    r2 = x**2 + (y + 0.1) ** 2 + z**2
    # low-frequency value noise: a coarse random grid, smoothly upsampled
    coarse = rng.random((5, 5, 5))
    idx = np.linspace(0, 4, n)
    i0 = np.clip(idx.astype(int), 0, 3)
    f = idx - i0
    noise = coarse
    for axis in range(3):
        noise = np.moveaxis(noise, axis, 0)
        noise = (1 - f)[:, None, None] * noise[i0] + f[:, None, None] * noise[i0 + 1]
        noise = np.moveaxis(noise, 0, axis)
    density = np.exp(-r2 / 0.03) * (0.6 + 0.4 * noise)
    density[density < 1e-3] = 0.0
    velocity = np.stack([-z * 2.0, 0.8 * np.exp(-r2 / 0.05), x * 2.0], axis=-1)
    velocity[density == 0] = 0.0
    return density.astype(np.float32), velocity.astype(np.float32)


def write_plume(path: str | Path, n: int = 32) -> Path:
    from ..io.volume import Volume
    from ..io.vdb import write_vdb

    density, velocity = plume_fields(n)
    matrix = np.diag([0.05, 0.05, 0.05, 1.0])
    matrix[3, :3] = -0.05 * (n - 1) / 2  # centred on the origin
    meta = {"billow_velocity_units": "world/s", "billow_fps": 24.0}
    return write_vdb(path, [
        Volume("density", density, (0, 0, 0), matrix, grid_class="fog volume"),
        Volume("vel", velocity, (0, 0, 0), matrix, vector_type="contravariant relative",
               metadata=meta),
    ], metadata={"billow_sample": "plume_32"}, half=True)
