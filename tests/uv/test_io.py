"""billow.uv.io: every UV/IUV/RGB format round-trips through real files (OpenCV), channels land
where the contract says, and every kind of bad input is one InputError naming the file."""

from __future__ import annotations

import os

import numpy as np
import pytest
from billow.errors import InputError, OutputError
from billow.uv import atlas
from billow.uv import io as uvio

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
cv2 = pytest.importorskip("cv2")


def random_uv(shape=(12, 17), seed=0):
    rng = np.random.default_rng(seed)
    uv = rng.uniform(0.0, 1.0, (*shape, 2)).astype(np.float32)
    mask = rng.uniform(size=shape) > 0.3
    uv[~mask] = 0.0
    return uv, mask


def test_16bit_png_round_trip_and_channel_order(tmp_path):
    uv, mask = random_uv()
    path = tmp_path / "f.png"
    uvio.write_uv(path, uv, mask)
    back, mask2 = uvio.read_uv(path)
    assert back.dtype == np.float32 and back.shape == uv.shape
    assert (mask2 == mask).all()
    assert np.abs(back - uv)[mask].max() <= 1.0 / 65535 + 1e-7
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # B, G, R as OpenCV stores them
    assert raw.dtype == np.uint16
    np.testing.assert_array_equal(raw[..., 2], np.rint(uv[..., 0] * 65535))  # R = u
    np.testing.assert_array_equal(raw[..., 1], np.rint(uv[..., 1] * 65535))  # G = v
    np.testing.assert_array_equal(raw[..., 0], mask * 65535)  # B = mask


def test_exr_round_trip_is_exact_and_alpha_can_hold_the_mask(tmp_path):
    uv, mask = random_uv(seed=1)
    uvio.write_uv(tmp_path / "f.exr", uv, mask)
    back, mask2 = uvio.read_uv(tmp_path / "f.exr")
    assert (mask2 == mask).all()
    np.testing.assert_array_equal(back[mask], uv[mask])
    raw = cv2.imread(str(tmp_path / "f.exr"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(raw[..., 2], uv[..., 0])
    # an RGBA EXR (as renderers write them): the mask is A, whatever B holds
    bgra = np.dstack([np.full(mask.shape, 0.9), uv[..., 1], uv[..., 0], mask]).astype(np.float32)
    cv2.imwrite(str(tmp_path / "a.exr"), bgra)
    back, mask3 = uvio.read_uv(tmp_path / "a.exr")
    assert (mask3 == mask).all()
    np.testing.assert_allclose(back[mask], uv[mask])


def test_iuv_round_trip_through_the_atlas(tmp_path):
    uv, mask = random_uv(seed=2)
    uvio.write_iuv(tmp_path / "i.png", uv, mask)
    raw = cv2.imread(str(tmp_path / "i.png"), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint8
    i, _, _ = atlas.uv_to_iuv(uv, mask)
    np.testing.assert_array_equal(raw[..., 2], i)  # R = I (part), 0 = background
    back, mask2 = uvio.read_uv(tmp_path / "i.png")
    assert (mask2 == mask).all()
    # one 8-bit step is 1/255 of a tile: half of it in global u and v
    err = np.abs(back - uv)[mask]
    assert err[:, 0].max() <= 0.5 / (255 * atlas.COLS) + 1e-6
    assert err[:, 1].max() <= 0.5 / (255 * atlas.ROWS) + 1e-6


def test_rgb_round_trips_8_and_16_bit_with_alpha(tmp_path):
    rng = np.random.default_rng(3)
    rgb = rng.uniform(0, 1, (9, 11, 3)).astype(np.float32)
    alpha = rng.uniform(size=(9, 11)) > 0.5
    uvio.write_rgb(tmp_path / "c.png", rgb, alpha)
    back, a = uvio.read_rgb(tmp_path / "c.png")
    assert np.abs(back - rgb).max() <= 0.5 / 255 + 1e-6 and (a == alpha).all()
    raw = cv2.imread(str(tmp_path / "c.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(raw[..., 2], np.rint(rgb[..., 0] * 255))  # R first in file
    uvio.write_rgb(tmp_path / "n.png", rgb)
    assert uvio.read_rgb(tmp_path / "n.png")[1] is None
    deep = np.rint(rgb * 65535).astype(np.uint16)[..., ::-1]
    cv2.imwrite(str(tmp_path / "d.png"), np.ascontiguousarray(deep))
    back16, _ = uvio.read_rgb(tmp_path / "d.png")
    assert np.abs(back16 - rgb).max() <= 0.5 / 65535 + 1e-6


def write_seq(folder, n, shape=(8, 10), fmt="png", skip=()):
    for f in range(1, n + 1):
        if f not in skip:
            uvio.write_uv(folder / f"uv.{f:04d}.{fmt}", *random_uv(shape, seed=f))
    return folder / f"uv.####.{fmt}"


def test_sequences_read_every_frame_in_order(tmp_path):
    pattern = write_seq(tmp_path, 3)
    frames, uv, mask = uvio.read_uv_sequence(pattern)
    assert frames == [1, 2, 3] and uv.shape == (3, 8, 10, 2) and mask.shape == (3, 8, 10)
    np.testing.assert_allclose(uv[1], random_uv((8, 10), seed=2)[0], atol=1e-5)
    for f in (1, 2, 3):
        uvio.write_rgb(tmp_path / f"rgb.{f:04d}.png", np.full((8, 10, 3), f / 4), None)
        uvio.write_rgb(tmp_path / f"m.{f:04d}.png", np.zeros((8, 10, 3)) + (f == 2))
    frames, rgb, fg = uvio.read_rgb_sequence(tmp_path / "rgb.####.png", "1-3",
                                             mask_pattern=tmp_path / "m.####.png")
    assert rgb.shape == (3, 8, 10, 3) and abs(rgb[2].mean() - 0.75) < 1e-2
    assert fg[1].all() and not fg[0].any()


def test_missing_frames_are_named(tmp_path):
    pattern = write_seq(tmp_path, 4, skip=(2, 3))
    with pytest.raises(InputError, match=r"uv\.####\.png: missing frames 2-3"):
        uvio.read_uv_sequence(pattern, "1-4")


def test_size_mismatch_names_the_file(tmp_path):
    write_seq(tmp_path, 2)
    uvio.write_uv(tmp_path / "uv.0003.png", *random_uv((8, 12)))
    with pytest.raises(InputError, match=r"uv\.0003\.png: size 12x8 differs"):
        uvio.read_uv_sequence(tmp_path / "uv.####.png")
    for f in (1, 2):
        uvio.write_rgb(tmp_path / f"rgb.{f:04d}.png", np.zeros((8, 10, 3)), np.ones((8, 10)))
        uvio.write_rgb(tmp_path / f"m.{f:04d}.png", np.zeros((9, 10, 3)))
    with pytest.raises(InputError, match=r"m\.0001\.png: size 10x9 differs"):
        uvio.read_rgb_sequence(tmp_path / "rgb.####.png", mask_pattern=tmp_path / "m.####.png")
    with pytest.raises(InputError, match="uv.png: size"):
        uvio.require_same_size("uv.png", (8, 12, 2), "rgb.png", (8, 10, 3))


def test_uvs_outside_the_unit_square(tmp_path):
    uv, mask = random_uv(seed=4)
    bad = uv.copy()
    bad[mask.nonzero()[0][0], mask.nonzero()[1][0], 0] = 1.2
    bgr = np.dstack([mask, bad[..., 1], bad[..., 0]]).astype(np.float32)
    cv2.imwrite(str(tmp_path / "bad.exr"), bgr)
    with pytest.raises(InputError, match=r"bad\.exr: UVs outside \[0, 1\]"):
        uvio.read_uv(tmp_path / "bad.exr")
    # a hair outside (float round-off in a renderer) is clipped, not an error
    bgr[..., 2] = np.where(mask, 1.0 + 5e-4, 0.0)
    cv2.imwrite(str(tmp_path / "ok.exr"), bgr)
    back, _ = uvio.read_uv(tmp_path / "ok.exr")
    assert back.max() == 1.0
    # outside the mask anything goes (background is not looked up)
    bgr = np.dstack([mask, bad[..., 1], np.where(mask, 0.5, 7.0)]).astype(np.float32)
    cv2.imwrite(str(tmp_path / "bg.exr"), bgr)
    assert uvio.read_uv(tmp_path / "bg.exr")[0][~mask].max() == 0.0


def test_nan_and_bad_part_index(tmp_path):
    uv, mask = random_uv(seed=5)
    bgr = np.dstack([mask, uv[..., 1], uv[..., 0]]).astype(np.float32)
    bgr[3, 4, 2] = np.nan
    cv2.imwrite(str(tmp_path / "nan.exr"), bgr)
    with pytest.raises(InputError, match=r"nan\.exr: .*NaN"):
        uvio.read_uv(tmp_path / "nan.exr")
    iuv = np.zeros((4, 4, 3), np.uint8)
    iuv[..., 0] = 30  # I, in OpenCV's last channel
    cv2.imwrite(str(tmp_path / "i.png"), iuv[..., ::-1].copy())
    with pytest.raises(InputError, match=r"i\.png: .*part index 30"):
        uvio.read_uv(tmp_path / "i.png")


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"])
def test_corrupt_or_missing_files(tmp_path, content):
    path = tmp_path / "broken.0001.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"broken\.0001\.png: cannot read"):
        uvio.read_uv(path)
    with pytest.raises(InputError, match=r"broken\.0001\.png: cannot read"):
        uvio.read_rgb_sequence(tmp_path / "broken.####.png")
    with pytest.raises(InputError, match=r"gone\.png: no such file"):
        uvio.read_uv(tmp_path / "gone.png")


def test_rgb_needs_alpha_or_a_mask_unless_told_otherwise(tmp_path):
    uvio.write_rgb(tmp_path / "p.0001.png", np.zeros((5, 6, 3)))
    with pytest.raises(InputError, match=r"p\.0001\.png: no alpha channel and no mask"):
        uvio.read_rgb_sequence(tmp_path / "p.####.png")
    _, _, mask = uvio.read_rgb_sequence(tmp_path / "p.####.png", require_mask=False)
    assert mask.all()


def test_grey_image_is_not_a_uv_frame(tmp_path):
    cv2.imwrite(str(tmp_path / "g.png"), np.zeros((4, 4), np.uint16))
    with pytest.raises(InputError, match=r"g\.png: a UV frame needs 3 or 4 channels"):
        uvio.read_uv(tmp_path / "g.png")


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path):
    uvio.write_uv(tmp_path / "out" / "a.png", *random_uv())
    uvio.write_iuv(tmp_path / "out" / "b.png", *random_uv())
    uvio.write_uv(tmp_path / "out" / "c.exr", *random_uv())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.exr"]
    with pytest.raises(OutputError):
        uvio.write_uv(tmp_path / "out" / "d.unknownext", *random_uv())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.exr"]
