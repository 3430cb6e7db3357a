"""Synthetic temporal triplets (Eq. 5.15): a transformation f applied once and twice."""

from __future__ import annotations

import numpy as np
import torch
from billow.uv import triplets

from ._tiny_clip import frame


def _uvmap(h=48, w=48, t=0):
    uv, _, _, mask = frame(t, h, w)
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    return torch.cat([torch.from_numpy(uv).permute(2, 0, 1)[None] * m, m], 1)


def test_identity_transform_gives_three_equal_frames():
    x = _uvmap()
    out = triplets.synthetic_triplets(x, 32, torch.Generator().manual_seed(0), max_shift=0,
                                      max_rotation=0, max_scale=0)
    assert out.shape == (1, 3, 3, 32, 32)
    for k in range(3):
        assert torch.allclose(out[0, k], triplets.centre_crop(x, 32)[0], atol=1e-5)


def test_integer_shift_is_applied_once_then_twice():
    x = _uvmap()
    theta = torch.tensor([[[1.0, 0.0, 2 * 2 / 48], [0.0, 1.0, 0.0]]])  # sample 2 px right
    once = triplets.resample_uv(x, theta)
    twice = triplets.resample_uv(x, triplets.compose(theta, theta))
    assert torch.allclose(once[..., :, 4:40], x[..., :, 6:42], atol=1e-5)
    assert torch.allclose(twice[..., :, 4:40], x[..., :, 8:44], atol=1e-5)


def test_resampling_never_mixes_uvs_across_atlas_seams():
    x = _uvmap()
    gen = torch.Generator().manual_seed(3)
    out = triplets.synthetic_triplets(x.expand(8, -1, -1, -1), 32, gen, max_shift=1.5,
                                      max_rotation=10.0, max_scale=0.1)
    valid = out[:, :, 2] > 0.5
    u = out[:, :, 0][valid]
    # the clip's two parts occupy u in [0, 0.25) and [0.25, 0.5) (atlas columns 0 and 1)
    # with a margin of 0.02 * 0.25 from the seam: mixing would land in between
    assert float(((u > 0.245) & (u < 0.255)).float().mean()) == 0.0
    assert float(out[:, :, 2].unique().numel()) <= 2  # the mask stays binary
    # frames differ (the triplet moves), and the draw is reproducible from the seed
    assert not torch.equal(out[:, 0], out[:, 2])
    again = triplets.synthetic_triplets(x.expand(8, -1, -1, -1), 32,
                                        torch.Generator().manual_seed(3), max_shift=1.5,
                                        max_rotation=10.0, max_scale=0.1)
    assert torch.equal(out, again)


def test_random_transforms_stay_within_bounds():
    th = triplets.random_transforms(64, torch.Generator().manual_seed(0), max_shift=2.0,
                                    max_rotation=5.0, max_scale=0.05, size=32)
    det = th[:, 0, 0] * th[:, 1, 1] - th[:, 0, 1] * th[:, 1, 0]
    assert float(det.min()) >= 0.95**2 - 1e-6 and float(det.max()) <= 1.05**2 + 1e-6
    assert float(th[:, :, 2].abs().max()) <= 2.0 * 2 / 32 + 1e-6
