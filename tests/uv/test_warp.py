"""Warps between image and texture space (Eq. 5.1-5.2): round trip, averaging, gradients."""

import numpy as np
import torch
from billow.metrics.image import psnr_image
from billow.uv import atlas, warp


def _grid(h, w):
    return np.meshgrid(np.arange(h), np.arange(w), indexing="ij")


def test_round_trip_on_injective_map_reproduces_image():
    # a flipped, shifted copy of the frame inside a larger texture: every pixel owns one texel
    h, w, ht, wt = 24, 20, 40, 32
    ys, xs = _grid(h, w)
    tx, ty = xs + 5, (h - 1 - ys) + 3
    uv = np.stack([(tx + 0.5) / wt, 1 - (ty + 0.5) / ht], -1).astype(np.float32)
    mask = np.ones((h, w), bool)
    mask[:3] = False
    img = np.random.default_rng(0).random((h, w, 3)).astype(np.float32)
    u, m = warp.to_torch_uv(uv, mask)
    tex, weight = warp.splat(warp.to_torch_image(img), u, m, (ht, wt))
    back = warp.to_numpy_image(warp.sample(tex, u, m))[0]
    np.testing.assert_allclose(back[mask], img[mask], atol=1e-5)
    assert np.all(back[~mask] == 0)
    assert int((weight > 0.5).sum()) == mask.sum()  # float rounding leaves ~1e-7 crumbs


def test_round_trip_on_rotated_map_keeps_smooth_image():
    h = w = 32
    ys, xs = _grid(h, w)
    th = 0.3
    cx, cy = xs - 15.5, ys - 15.5
    rx, ry = np.cos(th) * cx - np.sin(th) * cy, np.sin(th) * cx + np.cos(th) * cy
    uv = np.stack([(rx + 32) / 64, 1 - (ry + 32) / 64], -1).astype(np.float32)
    img = np.stack([np.sin(xs / 5) * 0.5 + 0.5, np.cos(ys / 4) * 0.5 + 0.5,
                    np.sin((xs + ys) / 7) * 0.5 + 0.5], -1).astype(np.float32)
    u, m = warp.to_torch_uv(uv, np.ones((h, w), bool))
    tex, weight = warp.splat(warp.to_torch_image(img), u, m, (64, 64))
    tex = warp.fill_holes(tex, weight)
    back = warp.to_numpy_image(warp.sample(tex, u, m))[0]
    assert psnr_image(back, img) > 40


def test_texel_convention_matches_atlas():
    # the texel centre of (x, y) = (3, 1) in a 4x6 texture, per atlas.texel_xy
    tex = torch.zeros(1, 1, 4, 6)
    tex[0, 0, 1, 3] = 1.0
    uv = torch.tensor([[[[(3 + 0.5) / 6, 1 - (1 + 0.5) / 4]]]])
    assert float(warp.sample(tex, uv, torch.ones(1, 1, 1, dtype=torch.bool))) == 1.0
    x, y = atlas.texel_xy(uv.numpy(), (4, 6))
    assert np.allclose([x.item(), y.item()], [3, 1])


def test_splat_averages_pixels_on_one_texel():
    img = torch.tensor([[[[0.2, 0.8]]]])
    uv = torch.tensor([[[[(1 + 0.5) / 4, 1 - (2 + 0.5) / 4]] * 2]])
    tex, weight = warp.splat(img, uv, torch.ones(1, 1, 2, dtype=torch.bool), (4, 4))
    assert abs(float(tex[0, 0, 2, 1]) - 0.5) < 1e-6  # the mean, not the last write (0.8)
    assert float(weight[0, 0, 2, 1]) == 2.0
    assert float(tex.abs().sum()) == float(tex[0, 0, 2, 1])


def test_gradients_reach_uv_float64():
    g = torch.Generator().manual_seed(0)
    tex = torch.rand(1, 2, 5, 6, dtype=torch.float64, generator=g)
    img = torch.rand(1, 2, 3, 4, dtype=torch.float64, generator=g)
    uv = (torch.rand(1, 3, 4, 2, dtype=torch.float64, generator=g) * 0.8 + 0.1).requires_grad_()
    mask = torch.ones(1, 3, 4, dtype=torch.bool)
    assert torch.autograd.gradcheck(lambda q: warp.sample(tex, q, mask), (uv,))
    assert torch.autograd.gradcheck(lambda q: warp.splat(img, q, mask, (5, 6))[0], (uv,))


def test_fill_holes_stays_inside_its_tile():
    size = (48, 32)  # tiles of 8x8 texels
    tex, weight = torch.zeros(1, 1, *size), torch.zeros(1, 1, *size)
    tex[0, 0, 0, 0], weight[0, 0, 0, 0] = 1.0, 1.0  # part 1
    tex[0, 0, 8, 0], weight[0, 0, 8, 0] = 2.0, 1.0  # part 2, the tile below
    filled = warp.fill_holes(tex, weight, atlas.tile_index(size))
    assert torch.all(filled[0, 0, :8, :8] == 1.0)
    assert torch.all(filled[0, 0, 8:16, :8] == 2.0)
    assert float(filled[0, 0, 16:].abs().max()) == 0.0  # parts nobody reached stay empty
    assert float(filled[0, 0, :, 8:].abs().max()) == 0.0
    unrestricted = warp.fill_holes(tex, weight)
    assert float(unrestricted[0, 0, 40, 30]) != 0.0


def test_default_texture_size_is_an_atlas():
    assert warp.default_texture_size((256, 256)) == (768, 512)
    assert warp.default_texture_size((4000, 3000)) == (6 * 256, 4 * 256)
    h, w = warp.default_texture_size((1080, 1920))
    assert h % atlas.ROWS == 0 and w % atlas.COLS == 0 and h // 6 == w // 4


def test_round_trip_matches_splat_then_sample_with_gradients():
    g = torch.Generator().manual_seed(3)
    img = torch.rand(2, 3, 6, 7, dtype=torch.float64, generator=g)
    uv = (torch.rand(2, 6, 7, 2, dtype=torch.float64, generator=g) * 0.6 + 0.2)
    mask = torch.rand(2, 6, 7, generator=g) > 0.3
    uv_a, uv_b = uv.clone().requires_grad_(), uv.clone().requires_grad_()
    tex, _ = warp.splat(img, uv_a, mask, (8, 10))
    dense = warp.sample(tex, uv_a, mask)
    fast = warp.round_trip(img, uv_b, mask, (8, 10))
    torch.testing.assert_close(fast, dense)
    dense.square().sum().backward()
    fast.square().sum().backward()
    torch.testing.assert_close(uv_b.grad, uv_a.grad)


def test_fill_holes_atlas_fast_path_matches_rule():
    size = (48, 32)
    g = torch.Generator().manual_seed(1)
    tex = torch.rand(2, 3, *size, generator=g)
    weight = (torch.rand(2, 1, *size, generator=g) > 0.8).float()
    weight[:, :, 8:16, 0:8] = 0.0  # part 2 empty in both frames
    filled = warp.fill_holes(tex, weight, atlas.tile_index(size))
    known = weight > 0
    torch.testing.assert_close(filled[known.expand_as(filled)], tex[known.expand_as(tex)])
    assert float(filled[:, :, 8:16, 0:8].abs().max()) == 0.0
    holes = ~known.expand_as(filled)
    holes[:, :, 8:16, 0:8] = False
    assert bool((filled[holes] > 0).all())  # every other hole got a colour from its tile
    # any other tile map takes the ring-growing path, with the same rule
    odd = atlas.tile_index(size).copy()
    odd[0, 0] = 99  # not the atlas layout any more: one texel forms its own part
    grown = warp.fill_holes(tex, weight, odd)
    assert float(grown[:, :, 8:16, 0:8].abs().max()) == 0.0
    holes[:, :, 0, 0] = False
    assert bool((grown[holes] > 0).all())
