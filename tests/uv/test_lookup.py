"""The re-texturing lookup: native kernel (AVX2 and scalar pixels) against the torch reference,
the reference against `warp.sample`, and the compositing rules."""

import numpy as np
import pytest
import torch
from billow._native import cuda_kernels_available
from billow.uv import lookup, warp

RNG_SEED = 7


def _case(rng, h, w, tex_hw, tex_dtype, uv_dtype, mask_kind, plate):
    th, tw = tex_hw
    tex = rng.integers(0, 256, (th, tw, 4), dtype=np.uint8)
    # UVs on texel centres, texel borders, the texture's edges and beyond it (clamp-to-edge)
    uv = rng.uniform(-0.1, 1.1, (h, w, 2)).astype(np.float32)
    uv.reshape(-1, 2)[: 4 * tw : 4, 0] = (np.arange(tw) + 0.5) / tw  # centres
    uv.reshape(-1, 2)[1 : 4 * tw : 4, 0] = np.arange(tw) / tw  # borders between texels
    uv.reshape(-1, 2)[2:40:4] = [[0.0, 1.0]]
    uv.reshape(-1, 2)[3:40:4] = [[1.0, 0.0]]
    if uv_dtype == np.uint16:
        uv = np.rint(np.clip(uv, 0, 1) * 65535).astype(np.uint16)
    inside = rng.random((h, w)) > 0.3
    mask = {"bool": inside, "uint8": rng.integers(0, 256, (h, w), dtype=np.uint8) * inside,
            "float": (rng.random((h, w)) * inside).astype(np.float32)}[mask_kind]
    bg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8) if plate else None
    if tex_dtype == np.float32:
        tex = tex.astype(np.float32) / 255
        bg = None if bg is None else bg.astype(np.float32) / 255
    return tex, uv, mask, bg


@pytest.mark.parametrize("tex_dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("uv_dtype", [np.float32, np.uint16])
@pytest.mark.parametrize("mask_kind", ["bool", "uint8", "float"])
@pytest.mark.parametrize("plate", [True, False])
def test_native_matches_torch_reference(tex_dtype, uv_dtype, mask_kind, plate):
    rng = np.random.default_rng(RNG_SEED)
    # 53 columns: six AVX2 blocks of 8 and 5 scalar pixels per row on the uint8 path
    tex, uv, mask, bg = _case(rng, 21, 53, (9, 13), tex_dtype, uv_dtype, mask_kind, plate)
    native = lookup.retexture(tex, uv, mask, bg)
    ref = lookup.retexture(tex, uv, mask, bg, backend="torch")
    assert native.dtype == ref.dtype == tex_dtype
    assert native.shape == (21, 53, 3 if plate else 4)
    if tex_dtype == np.uint8:
        # same float operations in the same order, so even the rounding agrees
        np.testing.assert_array_equal(native, ref)
    else:
        np.testing.assert_allclose(native, ref, atol=1e-5, rtol=0)


def test_torch_tensors_in_tensor_out():
    rng = np.random.default_rng(RNG_SEED)
    tex, uv, mask, bg = _case(rng, 6, 11, (5, 4), np.uint8, np.uint16, "uint8", True)
    got = lookup.retexture(*(torch.from_numpy(a) for a in (tex, uv, mask, bg)))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.uint8
    np.testing.assert_array_equal(got.numpy(), lookup.retexture(tex, uv, mask, bg))


def test_reference_is_warp_sample():
    """The runtime looks up what the training pipeline samples (Eq. 5.2)."""
    rng = np.random.default_rng(RNG_SEED)
    tex = rng.random((24, 16, 3)).astype(np.float32)
    uv = rng.uniform(-0.05, 1.05, (2, 17, 19, 2)).astype(np.float32)
    mask = rng.random((2, 17, 19)) > 0.4
    ours = np.stack([lookup.retexture(lookup.as_rgba(tex), uv[k], mask[k])[..., :3]
                     for k in range(2)])
    theirs = warp.sample(torch.from_numpy(tex).permute(2, 0, 1)[None], torch.from_numpy(uv),
                         torch.from_numpy(mask))
    np.testing.assert_allclose(ours, theirs.permute(0, 2, 3, 1).numpy(), atol=1e-5, rtol=0)


def test_texel_centres_edges_and_midpoints():
    tex = np.zeros((2, 3, 4), np.float32)
    tex[..., 0] = [[0.0, 0.3, 0.6], [0.9, 0.1, 0.2]]
    tex[..., 3] = 1.0
    # texel (row 1, column 2) centre; halfway between (0, 0) and (0, 1); beyond the corner
    uv = np.array([[[2.5 / 3, 0.25], [1 / 3, 0.75], [-0.2, 1.3]]], np.float32)
    out = lookup.retexture(tex, uv, np.ones((1, 3), bool))
    np.testing.assert_allclose(out[0, :, 0], [0.2, 0.15, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[0, :, 3], 1.0)


def test_compositing_mask_alpha_and_plate():
    tex = np.full((4, 4, 4), 200, np.uint8)
    tex[..., 3] = 255
    tex[:, 2:, 3] = 0  # right half of the texture transparent
    uv = np.zeros((2, 3, 2), np.float32)
    uv[..., 1] = 0.5
    uv[:, 0, 0], uv[:, 1, 0], uv[:, 2, 0] = 0.1, 0.9, 0.1
    mask = np.array([[True, True, False], [True, True, True]])
    bg = np.full((2, 3, 3), 10, np.uint8)
    out = lookup.retexture(tex, uv, mask, bg)
    assert (out[:, 0] == 200).all()  # opaque texel inside the mask
    assert (out[:, 1] == 10).all()  # transparent texel: the plate shows through
    assert (out[0, 2] == 10).all() and (out[1, 2] == 200).all()  # outside / inside the mask
    rgba = lookup.retexture(tex, uv, mask)
    assert rgba[0, 0].tolist() == [200, 200, 200, 255] and rgba[0, 2].tolist() == [0, 0, 0, 0]
    assert rgba[0, 1, 3] == 0


def test_feather_ramps_inside_the_mask():
    mask = np.zeros((9, 9), bool)
    mask[1:8, 1:8] = True
    cover = lookup.feather(mask, 2)
    assert cover.dtype == np.uint8
    assert (cover[~mask] == 0).all() and cover[4, 4] == 255
    assert 0 < cover[1, 4] < cover[2, 4] < cover[3, 4] == 255
    np.testing.assert_array_equal(lookup.feather(mask, 0), mask * 255)


def test_nan_uvs_stay_inside_the_texture():
    tex = np.arange(5 * 7 * 4, dtype=np.uint8).reshape(5, 7, 4)
    uv = np.full((3, 11, 2), np.nan, np.float32)
    native = lookup.retexture(tex, uv, np.ones((3, 11), bool))
    np.testing.assert_array_equal(native, lookup.retexture(tex, uv, np.ones((3, 11), bool),
                                                           backend="torch"))


def test_one_texel_texture_and_out_buffer_reuse():
    tex = np.array([[[10, 20, 30, 255]]], np.uint8)
    uv = np.random.default_rng(RNG_SEED).random((4, 9, 2)).astype(np.float32)
    out = np.empty((4, 9, 4), np.uint8)
    got = lookup.retexture(tex, uv, np.ones((4, 9), bool), out=out)
    assert got is out and (out == [10, 20, 30, 255]).all()


def test_bad_shapes_and_dtypes():
    from billow._native import kernels
    from billow.errors import InputError

    tex = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(InputError, match="mask"):
        lookup.retexture(tex, np.zeros((3, 3, 2), np.float32), np.ones((3, 4), bool))
    with pytest.raises(InputError, match="RGBA"):
        lookup.retexture(tex[..., :3], np.zeros((3, 3, 2), np.float32), np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="share one dtype"):
        kernels().uv_lookup(tex, np.zeros((3, 3, 2), np.float32), np.ones((3, 3), bool), 1.0,
                            None, np.zeros((3, 3, 4), np.float32))
    with pytest.raises(ValueError, match="uv must be"):
        kernels().uv_lookup(tex, np.zeros((3, 3, 2), np.float64), np.ones((3, 3), bool), 1.0,
                            None, np.zeros((3, 3, 4), np.uint8))


def test_as_rgba():
    grey = np.full((2, 2), 65535, np.uint16)
    assert lookup.as_rgba(grey).tolist() == [[[255, 255, 255, 255]] * 2] * 2
    rgb = np.zeros((2, 2, 3), np.float32)
    assert lookup.as_rgba(rgb)[..., 3].tolist() == [[1.0, 1.0], [1.0, 1.0]]


@pytest.mark.skipif(not cuda_kernels_available(), reason="needs a CUDA GPU, a CUDA torch and nvcc "
                    "(the CUDA kernel billow/cpp_kernels/uv_lookup.cu is built on first use)")
@pytest.mark.parametrize("tex_dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("uv_dtype", [np.float32, np.uint16])
def test_cuda_matches_torch_reference(tex_dtype, uv_dtype):
    rng = np.random.default_rng(RNG_SEED)
    for plate in (True, False):
        tex, uv, mask, bg = _case(rng, 21, 53, (9, 13), tex_dtype, uv_dtype, "uint8", plate)
        t = [None if a is None else torch.from_numpy(a).cuda() for a in (tex, uv, mask, bg)]
        gpu = lookup.retexture(*t).cpu().numpy()
        ref = lookup.retexture(tex, uv, mask, bg, backend="torch")
        if tex_dtype == np.uint8:
            np.testing.assert_array_equal(gpu, ref)
        else:
            np.testing.assert_allclose(gpu, ref, atol=1e-5, rtol=0)
