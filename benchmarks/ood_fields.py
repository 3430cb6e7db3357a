"""Initial fields of the out-of-family benchmark scenes, in numpy only (the PhiFlow generator runs
in its own Python environment without torch or billow, and billow's held-out families use the
same helpers).

Everything lives on a cubic-cell grid of shape (X, Y, Z), indexed [x, y, z], y up; positions are
in world units with the largest axis 1 long, cell centres at (i + 0.5) / max(shape).
"""

from __future__ import annotations

import numpy as np


def coords(shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World coordinates of the cell centres, broadcastable (X,1,1), (1,Y,1), (1,1,Z)."""
    h = 1.0 / max(shape)
    return tuple(((np.arange(n) + 0.5) * h).reshape([-1 if a == i else 1 for a in range(3)])
                 for i, n in enumerate(shape))


def fractal_noise(shape, seed: int, beta: float = 11.0 / 3.0, largest: float = 0.25,
                  smallest: float = 0.0) -> np.ndarray:
    """Gaussian random field with power spectrum ~ |k|^-beta between wavelengths `largest` and
    `smallest` (world units; 0 = down to the grid's Nyquist), zero mean, unit std, periodic.
    beta = 11/3 is Kolmogorov's inertial range: detail at every scale down to the voxel."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(shape).astype(np.float32)
    f = np.fft.rfftn(white)
    n = max(shape)
    ks = [np.fft.fftfreq(m, d=1.0 / m) / m * n for m in shape[:-1]]  # cycles per world unit
    ks.append(np.fft.rfftfreq(shape[-1], d=1.0 / shape[-1]) / shape[-1] * n)
    kx, ky, kz = np.meshgrid(*ks, indexing="ij", sparse=True)
    k = np.sqrt(kx * kx + ky * ky + kz * kz)
    kmin = 1.0 / largest
    amp = np.where(k > 0, np.maximum(k, kmin) ** (-beta / 2.0), 0.0)
    amp = np.where(k < kmin, amp * (k / kmin) ** 2, amp)  # roll off above `largest`
    if smallest > 0:
        amp = amp * np.exp(-(k * smallest) ** 2)
    out = np.fft.irfftn(f * amp, s=shape).astype(np.float32)
    out -= out.mean()
    out /= max(float(out.std()), 1e-12)
    return out


def smoothstep(edge0: float, edge1: float, x) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def soft_box(shape, lo, hi, soft: float = 0.03) -> np.ndarray:
    """1 inside the world box [lo, hi], 0 outside, smooth ramps `soft` wide at the sides."""
    x, y, z = coords(shape)
    m = np.ones(shape, np.float32)
    for c, a, b in zip((x, y, z), lo, hi):
        m = m * smoothstep(a - soft, a + soft, c) * (1.0 - smoothstep(b - soft, b + soft, c))
    return m.astype(np.float32)


def dense_block(shape, seed: int, lo=(0.08, 0.04, 0.08), hi=(0.92, 0.62, 0.92),
                base: float = 0.6, contrast: float = 0.3, top_wobble: float = 0.06
                ) -> np.ndarray:
    """A large noise-textured block of smoke, density up to 1 (clipped): the issue's 'dense
    smoke filling large regions'. Its top edge is displaced by coarse noise so that it is not a
    plane; inside, Kolmogorov noise from 0.2 world units down to the voxel."""
    n = fractal_noise(shape, seed, largest=0.2)
    wob = fractal_noise(shape, seed + 1, beta=5.0, largest=0.5)
    x, y, z = coords(shape)
    top = hi[1] + top_wobble * wob
    vert = smoothstep(lo[1] - 0.03, lo[1] + 0.03, y) * (1.0 - smoothstep(top - 0.04, top + 0.04,
                                                                           y))
    side = soft_box(shape, (lo[0], -1.0, lo[2]), (hi[0], 2.0, hi[2]))
    d = np.clip(base + contrast * n, 0.0, 1.0) * vert * side
    return d.astype(np.float32)


def wisp_sheets(shape, seed: int, lo=(0.1, 0.05, 0.1), hi=(0.9, 0.5, 0.9), amount=(0.05, 0.2),
                thickness: float = 0.06) -> np.ndarray:
    """Thin sheets of faint smoke: density `amount[0]`..`amount[1]` near the zero level set of a
    noise field, inside a soft box; 'thin wisps' from the first frame, no warm-up needed."""
    n = fractal_noise(shape, seed, beta=4.5, largest=0.35)
    amp = fractal_noise(shape, seed + 7, beta=5.0, largest=0.5)
    sheet = np.exp(-(n / thickness) ** 2)
    level = amount[0] + (amount[1] - amount[0]) * smoothstep(-1.5, 1.5, amp)
    return (sheet * level * soft_box(shape, lo, hi, 0.05)).astype(np.float32)


def smooth_velocity(shape, seed: int, rms: float, largest: float = 0.5,
                    beta: float = 5.0) -> np.ndarray:
    """(3, X, Y, Z) smooth random velocity with the given rms per component (not divergence
    free: the first pressure projection removes the divergent part)."""
    v = np.stack([fractal_noise(shape, seed + 101 * (c + 1), beta=beta, largest=largest)
                  for c in range(3)])
    return (v * rms).astype(np.float32)


def ball(shape, centre, radius: float) -> np.ndarray:
    x, y, z = coords(shape)
    return ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2) <= radius ** 2


def torus(shape, centre, major: float, minor: float) -> np.ndarray:
    """A ring lying in the horizontal (x, z) plane."""
    x, y, z = coords(shape)
    rx, rz = x - centre[0], z - centre[2]
    q = np.sqrt(rx * rx + rz * rz) - major
    return (q * q + (y - centre[1]) ** 2) <= minor ** 2


def slanted_plate(shape, centre, half_size, angle_deg: float, thickness: float) -> np.ndarray:
    """A thin plate tilted by `angle_deg` about the z axis (a roof the smoke slides along)."""
    x, y, z = coords(shape)
    a = np.deg2rad(angle_deg)
    rx, ry = x - centre[0], y - centre[1]
    u = rx * np.cos(a) + ry * np.sin(a)
    w = -rx * np.sin(a) + ry * np.cos(a)
    return ((np.abs(u) <= half_size[0]) & (np.abs(w) <= thickness)
            & (np.abs(z - centre[2]) <= half_size[1]))


def pillars(shape, xs, zs, radius: float, y0: float, y1: float) -> np.ndarray:
    """Thin vertical cylinders at every (x, z) of the grid xs x zs between heights y0 and y1."""
    x, y, z = coords(shape)
    out = np.zeros(shape, bool)
    for cx in xs:
        for cz in zs:
            out |= (((x - cx) ** 2 + (z - cz) ** 2) <= radius ** 2) & (y >= y0) & (y <= y1)
    return out
