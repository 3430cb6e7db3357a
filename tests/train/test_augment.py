"""Physics-aware augmentation: velocity transforms with the field, advection stays consistent."""

from __future__ import annotations

import math

import torch
from billow.ops import advect, gaussian_blur
from billow.train.augment import (
    AugmentConfig,
    _rotation,
    random_transform,
    resample,
    tile_grid,
    valid_centres,
)


def _field(dim: int, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    y = gaussian_blur(torch.rand((1, 1) + (n,) * dim, generator=g), 1.5)[0]
    v = gaussian_blur(torch.randn((1, dim) + (n,) * dim, generator=g), 3.0)[0]
    return y, v / v.abs().max() * 1.5


def _whole(m, n, dim):
    """Transform of the whole domain onto itself (centre maps to centre)."""
    centre = torch.full((dim,), n / 2, dtype=torch.float64)
    return tile_grid(m, centre, n, 1, (n,) * dim)


def test_flip_negates_the_right_component():
    y, v = _field(2, 10)
    m = torch.diag(torch.tensor([-1.0, 1.0], dtype=torch.float64))
    grid = _whole(m, 10, 2)
    yt, vt = resample(y, grid), resample(v, grid, m)
    assert torch.allclose(yt, y.flip(1), atol=1e-5)
    assert torch.allclose(vt[0], -v[0].flip(0), atol=1e-5)
    assert torch.allclose(vt[1], v[1].flip(0), atol=1e-5)


def test_rotation_by_90_degrees_commutes_with_advection():
    """A(T y, T v) == T A(y, v) for an exact quarter turn, in 2D and 3D."""
    for dim in (2, 3):
        n = 12 if dim == 2 else 8
        y, v = _field(dim, n)
        axis = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64) if dim == 3 else None
        m = _rotation(dim, math.pi / 2, axis)
        grid = _whole(m, n, dim)
        lhs = advect(resample(y, grid)[None], resample(v, grid, m)[None])[0]
        rhs = resample(advect(y[None], v[None])[0], grid)
        assert torch.allclose(lhs, rhs, atol=1e-5), dim


def test_random_rotation_and_zoom_keep_advected_residual_small():
    """y1 = A(y0, v); after a random rotation + zoom, T y1 ~ A(T y0, T v) (the velocity was
    rotated AND scaled with the zoom), while keeping the untransformed velocity does not."""
    n, tile = 64, 24
    y0, v = _field(2, n)
    y1 = advect(y0[None], v[None])[0]
    gen = torch.Generator().manual_seed(3)
    cfg = AugmentConfig(rotate_deg=60, scale_min=0.85, scale_max=1.15)
    m = random_transform(2, cfg, gen)
    assert not torch.allclose(m, torch.eye(2, dtype=torch.float64))
    centre = torch.full((2,), n / 2, dtype=torch.float64)
    grid = tile_grid(m, centre, tile, 1, (n, n))
    ty0, ty1, tv = resample(y0, grid), resample(y1, grid), resample(v, grid, m)
    good = (advect(ty0[None], tv[None])[0] - ty1)[:, 3:-3, 3:-3].abs().mean()
    bad = (advect(ty0[None], resample(v, grid)[None])[0] - ty1)[:, 3:-3, 3:-3].abs().mean()
    assert good < 0.35 * bad


def test_tiles_stay_inside_valid_data():
    gen = torch.Generator().manual_seed(0)
    cfg = AugmentConfig()
    for dim in (2, 3):
        for _ in range(20):
            m = random_transform(dim, cfg, gen)
            ranges = valid_centres(m, 8, (20,) * dim)
            if ranges is None:
                continue
            for corner in ([lo for lo, _ in ranges], [hi for _, hi in ranges]):
                grid = tile_grid(m, torch.tensor(corner, dtype=torch.float64), 8, 4,
                                 (20,) * dim)
                assert grid.abs().max() <= 1.0 + 1e-9


def test_scale_is_uniform_and_bounded():
    gen = torch.Generator().manual_seed(1)
    for dim in (2, 3):
        for _ in range(10):
            m = random_transform(dim, AugmentConfig(), gen)
            s = torch.linalg.svdvals(m)
            assert torch.allclose(s, s[0].expand_as(s))  # no shear, no non-uniform scale
            assert 1 / 1.15 - 1e-9 <= float(s[0]) <= 1 / 0.85 + 1e-9


def test_lossless_transforms_copy_voxels_exactly():
    gen = torch.Generator().manual_seed(2)
    cfg = AugmentConfig(lossless=True)
    y, v = _field(3, 8)
    seen = set()
    for _ in range(12):
        m = random_transform(3, cfg, gen)
        seen.add(tuple(m.flatten().tolist()))
        assert torch.equal(m.abs().sum(0), torch.ones(3, dtype=torch.float64))
        grid = _whole(m, 8, 3)
        out = resample(y, grid)
        # the output is a permutation of the input voxels (no interpolation blur)
        assert torch.allclose(out.flatten().sort().values, y.flatten().sort().values,
                              atol=1e-6)
        lhs = advect(out[None], resample(v, grid, m)[None])[0]
        assert torch.allclose(lhs, resample(advect(y[None], v[None])[0], grid), atol=1e-5)
    assert len(seen) > 4


def test_amplitude_scales_low_and_high_res_alike(data2d):
    import dataclasses

    from billow.train.augment import AugmentConfig, random_amplitude
    from billow.train.data import PairedData, TileSampler

    data = PairedData(data2d)
    plain = AugmentConfig(augment=True, lossless=True, flip=False)
    scaled = dataclasses.replace(plain, amplitude_min=0.5, amplitude_max=2.0)
    ids = sorted(data.sims)
    # lossless without flips still draws a permutation: same seed, same tiles and transforms
    lr0, hr0 = TileSampler(data, ids, 4, 1, plain, torch.Generator().manual_seed(3)).sample(1)
    g = torch.Generator().manual_seed(3)
    lr1, hr1 = TileSampler(data, ids, 4, 1, scaled, g).sample(1)
    a = float(lr1[0, 1, 0].sum() / lr0[0, 1, 0].sum())
    assert 0.5 <= a <= 2.0 and abs(a - 1.0) > 1e-3
    torch.testing.assert_close(lr1[:, :, :1], a * lr0[:, :, :1], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(hr1, a * hr0, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(lr1[:, :, 1:], lr0[:, :, 1:])  # velocity untouched
    draws = [random_amplitude(scaled, torch.Generator().manual_seed(s)) for s in range(200)]
    assert min(draws) >= 0.5 and max(draws) <= 2.0
    assert abs(sum(math.log(d) for d in draws) / 200) < 0.1  # log-uniform: centred on 1
