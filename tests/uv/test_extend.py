"""UV extension (Sec. 5.2.1): covers the silhouette, keeps the map one-to-one."""

import numpy as np
from billow.uv import extend as ex

from . import toy_sequence


def _figure(frames=2, h=64, w=64):
    """Body UVs: an affine map into part 2's tile (one texel per pixel of a 384x256 atlas);
    the foreground adds a flared skirt below and hair above."""
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    uv = np.zeros((frames, h, w, 2), np.float32)
    raw = np.zeros((frames, h, w), bool)
    fg = np.zeros_like(raw)
    for k in range(frames):
        body = (ys >= 8) & (ys < 36) & (xs >= 22 + k) & (xs < 42 + k)
        skirt = (ys >= 36) & (ys < 58) & (np.abs(xs - 32 - k) < 10 + (ys - 36) * 0.6)
        hair = (ys >= 3) & (ys < 8) & (np.abs(xs - 32 - k) < 6)
        raw[k], fg[k] = body, body | skirt | hair
        tx, ty = (xs - 22 - k) + 22, (ys - 8) + 64 + 8  # tile 2 is the second row: y 64..127
        uv[k, ..., 0], uv[k, ..., 1] = (tx + 0.5) / 256, 1 - (ty + 0.5) / 384
        uv[k][~body] = 0
    return uv, raw, fg


def _flipped(uv, mask, raw):
    """Fraction of extended pixels whose Jacobian determinant has the opposite sign of the
    raw map's (a fold-over)."""
    det, valid = ex.jacobian_determinant(uv, mask)
    new = (mask & ~raw)[:, :-1, :-1] & valid
    sign = np.sign(np.median(det[valid & raw[:, :-1, :-1]]))
    return float((np.sign(det[new]) != sign).mean())


def test_extension_covers_the_silhouette_and_keeps_the_part():
    uv, raw, fg = _figure()
    out, mask, info = ex.extend(uv, raw, fg)
    assert np.array_equal(mask, fg)
    assert info["missing"] == int((fg & ~raw).sum())
    np.testing.assert_array_equal(out[raw], uv[raw])  # raw UVs stay where they were
    assert set(np.unique(ex.part_ids(out, mask))) == {0, 2}  # no labels given, none needed
    assert np.all(out[~fg] == 0)


def test_extension_stays_injective():
    uv, raw, fg = _figure()
    out, mask, _ = ex.extend(uv, raw, fg)
    assert _flipped(out, mask, raw) < 0.01
    # one texel per pixel: extended pixels do not pile onto shared texels
    assert ex.texel_collisions(out, mask, (384, 256), select=fg & ~raw) < 0.05


def _cylinder(frames=2, h=80, w=80):
    """A foreshortened body (a cylinder seen from the front: u = asin(x / r)), whose Jacobian
    blows up at the silhouette, so first-order extrapolation overshoots and folds."""
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    uv = np.zeros((frames, h, w, 2), np.float32)
    raw = np.zeros((frames, h, w), bool)
    fg = np.zeros_like(raw)
    for k in range(frames):
        c, r = 40 + k, 12
        body = (ys >= 8) & (ys < 48) & (np.abs(xs + 0.5 - c) < r)
        skirt = (ys >= 40) & (ys < 74) & (np.abs(xs + 0.5 - c) < r + (ys - 40) * 0.7)
        raw[k], fg[k] = body, body | skirt
        ang = np.arcsin(np.clip((xs + 0.5 - c) / r, -1, 1))
        uv[k, ..., 0] = (1.25 + (0.5 + ang / np.pi * 0.5) * 0.5) / 4  # part 8's tile
        uv[k, ..., 1] = 1 - (1.05 + (ys - 8) / 40 * 0.6) / 6
        uv[k][~body] = 0
    return uv, raw, fg


def test_push_then_pull_repairs_fold_overs_of_the_extrapolation():
    uv, raw, fg = _cylinder()
    relaxed, mask, info = ex.extend(uv, raw, fg)
    plain, _, _ = ex.extend(uv, raw, fg, ex.ExtendConfig(push_iters=0, pull_iters=0))
    assert _flipped(plain, mask, raw) > 0.02  # the extrapolation alone folds over
    assert _flipped(relaxed, mask, raw) < 0.005
    assert info["pull"] < ex.ExtendConfig().tolerance * 1.5  # near equilibrium
    size = (384, 256)
    assert ex.texel_collisions(relaxed, mask, size, fg & ~raw) \
        <= ex.texel_collisions(plain, mask, size, fg & ~raw) + 0.02


def test_toy_sequence_extends_into_its_own_tile():
    seq = toy_sequence.make(frames=2)
    out, mask, _ = ex.extend(seq["raw"], seq["raw_mask"], seq["fg"])
    assert np.array_equal(mask, seq["fg"])
    assert set(np.unique(ex.part_ids(out, mask))) == {0, 2}
    assert _flipped(out, mask, seq["raw_mask"]) < 0.01


def test_frames_without_raw_uvs_are_reported():
    uv, raw, fg = _figure()
    raw[1] = False
    out, mask, info = ex.extend(uv, raw, fg)
    assert info["empty"] == [1]
    assert not mask[1].any() and np.all(out[1] == 0)
    assert np.array_equal(mask[0], fg[0])
