"""`billow retexture` end to end on real files: UV frames (16-bit PNG, EXR, DensePose IUV),
texture PNG, background frames; and every kind of bad input as one line, exit 2, no output."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from billow.errors import EXIT_INPUT
from billow.uv import atlas, lookup
from billow.uv import io as uvio

from ..commands.cli_helpers import assert_one_line_error, billow, billow_here

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
cv2 = pytest.importorskip("cv2")

H, W, FRAMES = 20, 28, (1, 2, 3)


def _scene(root, frames=FRAMES, seed=0):
    """UV frames of a disc moving right over a plane, noisy plates, a striped RGBA texture."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:H, 0:W]
    for f in frames:
        uv = np.stack([(xs + 0.5) / W, 1 - (ys + 0.5) / H], -1).astype(np.float32)
        mask = (xs - 10 - 2 * f) ** 2 + (ys - 10) ** 2 < 7 ** 2
        uvio.write_uv(root / "uv" / f"f.{f:04d}.png", uv, mask)
        cv2.imwrite(str(root / "bg" / f"f.{f:04d}.png"),
                    rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    tex = rng.integers(0, 256, (16, 24, 4), dtype=np.uint8)
    tex[..., 3] = 255
    tex[:, ::5, 3] = 0  # transparent stripes: the plate shows through
    cv2.imwrite(str(root / "tex.png"), tex)
    return tex


@pytest.fixture
def scene(tmp_path):
    (tmp_path / "bg").mkdir()
    return tmp_path, _scene(tmp_path)


def _expected(root, frame, tex, plate=True):
    uv, mask = uvio.read_uv(root / "uv" / f"f.{frame:04d}.png")
    bg = cv2.imread(str(root / "bg" / f"f.{frame:04d}.png")) if plate else None
    return lookup.retexture(tex, uv, mask, bg, backend="torch"), mask


def test_composites_every_frame_over_its_plate(scene):
    root, tex = scene
    r = billow_here("retexture", "--uv", root / "uv/f.####.png", "--texture", root / "tex.png",
                    "--background", root / "bg/f.$F4.png", "--out", root / "out/o.%04d.png",
                    "--progress", "json", "--jobs", "2")
    assert r.code == 0, r.err
    events = [json.loads(line) for line in r.out.splitlines()]
    assert [e["frame"] for e in events if e["event"] == "frame"] == list(FRAMES)
    for f in FRAMES:
        got = cv2.imread(str(root / "out" / f"o.{f:04d}.png"), cv2.IMREAD_UNCHANGED)
        want, mask = _expected(root, f, tex)
        np.testing.assert_array_equal(got, want)
        plate = cv2.imread(str(root / "bg" / f"f.{f:04d}.png"))
        np.testing.assert_array_equal(got[~mask], plate[~mask])  # untouched outside the figure
        assert (got[mask] != plate[mask]).any()


def test_rgba_without_background_torch_backend_and_frame_range(scene):
    root, tex = scene
    r = billow_here("retexture", "--uv", root / "uv/f.####.png", "--texture", root / "tex.png",
                    "--out", root / "out/o.####.png", "--frames", "2-3", "--backend", "torch",
                    "--progress", "none")
    assert r.code == 0, r.err
    assert sorted(p.name for p in (root / "out").iterdir()) == ["o.0002.png", "o.0003.png"]
    got = cv2.imread(str(root / "out" / "o.0002.png"), cv2.IMREAD_UNCHANGED)
    want, mask = _expected(root, 2, tex, plate=False)
    assert got.shape == (H, W, 4)
    np.testing.assert_array_equal(got, want)
    assert (got[~mask] == 0).all()


def test_still_background_and_feathered_edge(scene):
    root, _ = scene
    r = billow_here("retexture", "--uv", root / "uv/f.####.png", "--texture", root / "tex.png",
                    "--background", root / "bg/f.0001.png", "--out", root / "o/f.####.png",
                    "--feather", "3", "--progress", "none")
    assert r.code == 0, r.err
    hard = billow_here("retexture", "--uv", root / "uv/f.####.png", "--texture",
                       root / "tex.png", "--background", root / "bg/f.0001.png", "--out",
                       root / "h/f.####.png", "--progress", "none")
    assert hard.code == 0
    soft = cv2.imread(str(root / "o/f.0003.png")).astype(int)
    sharp = cv2.imread(str(root / "h/f.0003.png")).astype(int)
    plate = cv2.imread(str(root / "bg/f.0001.png")).astype(int)
    _, mask = uvio.read_uv(root / "uv/f.0003.png")
    edge = mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    # the feathered border lies between the plate and the hard composite
    assert (np.abs(soft - plate)[edge] <= np.abs(sharp - plate)[edge]).all()
    assert (soft[edge] != sharp[edge]).any()


def test_densepose_iuv_frames_are_decoded_through_the_atlas(tmp_path):
    # each atlas tile a flat colour: every pixel of part p must get tile p's colour
    t = 8
    colours = np.random.default_rng(3).integers(0, 256, (atlas.PARTS + 1, 3), dtype=np.uint8)
    tiles = atlas.tile_index((atlas.ROWS * t, atlas.COLS * t))
    cv2.imwrite(str(tmp_path / "tex.png"), colours[tiles])
    parts = np.arange(H * W).reshape(H, W) % (atlas.PARTS + 1)
    iuv = np.dstack([parts, np.full((H, W), 128), np.full((H, W), 128)]).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "iuv.png"), iuv[..., ::-1])  # R, G, B = I, U, V
    r = billow_here("retexture", "--uv", tmp_path / "iuv.png", "--texture", tmp_path / "tex.png",
                    "--out", tmp_path / "out.png", "--progress", "none")
    assert r.code == 0, r.err
    got = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    inside = parts > 0
    np.testing.assert_array_equal(got[..., :3][inside], colours[parts][inside])
    assert (got[..., 3][inside] == 255).all() and (got[~inside] == 0).all()


def _err(root, *extra, out="out/o.####.png"):
    r = billow_here("retexture", "--texture", root / "tex.png", "--out", root / out,
                    "--progress", "none", *extra)
    return r


def _no_output(root):
    return not (root / "out").exists() or not any((root / "out").iterdir())


def test_background_size_mismatch(scene):
    root, _ = scene
    cv2.imwrite(str(root / "bg" / "f.0002.png"), np.zeros((H + 1, W, 3), np.uint8))
    r = _err(root, "--uv", root / "uv/f.####.png", "--background", root / "bg/f.####.png")
    assert_one_line_error(r, EXIT_INPUT, "f.0002.png", f"{W}x{H + 1}", "differs")
    assert _no_output(root)


def test_uv_sequence_size_mismatch(scene):
    root, _ = scene
    uvio.write_uv(root / "uv" / "f.0003.png", np.zeros((H, W + 2, 2), np.float32),
                  np.ones((H, W + 2), bool))
    r = _err(root, "--uv", root / "uv/f.####.png")
    assert_one_line_error(r, EXIT_INPUT, "f.0003.png", "differs")
    assert _no_output(root)


def test_missing_frames(scene):
    root, _ = scene
    r = _err(root, "--uv", root / "uv/f.####.png", "--frames", "1-5")
    assert_one_line_error(r, EXIT_INPUT, "missing frames 4-5")
    (root / "bg" / "f.0002.png").unlink()
    r = _err(root, "--uv", root / "uv/f.####.png", "--background", root / "bg/f.####.png")
    assert_one_line_error(r, EXIT_INPUT, "missing frame 2")
    assert _no_output(root)


def test_unreadable_texture(scene):
    root, _ = scene
    (root / "tex.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    r = _err(root, "--uv", root / "uv/f.####.png")
    assert_one_line_error(r, EXIT_INPUT, "tex.png", "cannot read the texture")
    assert _no_output(root)


def test_uvs_outside_unit_square(scene):
    root, _ = scene
    uv = np.full((H, W, 2), 0.5, np.float32)
    uv[3, 4, 0] = 1.5
    bgr = np.dstack([np.ones((H, W)), uv[..., 1], uv[..., 0]]).astype(np.float32)
    cv2.imwrite(str(root / "bad.exr"), bgr)
    r = _err(root, "--uv", root / "bad.exr", out="out/o.png")
    assert_one_line_error(r, EXIT_INPUT, "bad.exr", "outside [0, 1]")
    assert _no_output(root)


def test_rgba_output_needs_an_alpha_format(scene):
    root, _ = scene
    r = _err(root, "--uv", root / "uv/f.####.png", out="out/o.####.jpg")
    assert_one_line_error(r, EXIT_INPUT, ".jpg", "alpha")


def test_missing_texture(scene):
    root, _ = scene
    r = _err(root, "--uv", root / "uv/f.####.png", "--texture", root / "nope.png")
    assert_one_line_error(r, EXIT_INPUT, "nope.png", "no such texture file")


def test_real_cli_process(scene):
    root, _ = scene
    r = billow("retexture", "--uv", root / "uv/f.####.png", "--texture", root / "tex.png",
               "--out", root / "out/o.####.png", "--progress", "log")
    assert r.code == 0, r.err
    assert len(list((root / "out").iterdir())) == len(FRAMES)


def test_fast_path_u16_uvs_and_output_formats(scene):
    """16-bit UVs reach the kernel as uint16 (no float round trip): the same pixels as the
    float path; --png-level 0 and .tif output hold the same pixels as the default PNG."""
    root, tex = scene
    u16, m16 = uvio.read_uv(root / "uv/f.0002.png", keep_u16=True)
    uv, mask = uvio.read_uv(root / "uv/f.0002.png")
    assert u16.dtype == np.uint16 and u16.flags.c_contiguous
    np.testing.assert_array_equal(m16, mask)
    assert np.abs(u16[mask] / 65535.0 - uv[mask]).max() < 1e-6
    bg = cv2.imread(str(root / "bg/f.0002.png"))
    fast = lookup.retexture(tex, u16, m16, bg)
    slow = lookup.retexture(tex, uv, mask, bg)
    assert np.abs(fast.astype(int) - slow.astype(int)).max() <= 1
    outs = {}
    for name, extra in (("png0", ["--png-level", "0"]), ("png", []), ("tif", [])):
        ext = "tif" if name == "tif" else "png"
        r = billow_here("retexture", "--uv", root / "uv/f.####.png", "--texture",
                        root / "tex.png", "--background", root / "bg/f.####.png", "--out",
                        root / f"{name}/o.####.{ext}", "--progress", "none", *extra)
        assert r.code == 0, r.err
        outs[name] = cv2.imread(str(root / f"{name}/o.0002.{ext}"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(outs["png0"], outs["png"])
    np.testing.assert_array_equal(outs["tif"], outs["png"])
    np.testing.assert_array_equal(outs["png"], fast)
    assert_one_line_error(billow_here("retexture", "--uv", root / "uv/f.####.png", "--texture",
                                      root / "tex.png", "--out", root / "x/o.####.png",
                                      "--png-level", "12"), EXIT_INPUT, "--png-level")


def test_fast_path_reads_rgba_and_tiff_uv_frames_as_the_float_path_does(scene, tmp_path):
    """The u16 fast path's channel shuffle: an RGBA UV frame takes its mask from alpha, an
    RGB one from B, and a 16-bit TIFF reads as the PNG it was made from."""
    root, _ = scene
    raw = cv2.imread(str(root / "uv/f.0002.png"), cv2.IMREAD_UNCHANGED)  # B, G, R
    rgba = np.dstack([np.zeros_like(raw[..., 0]), raw[..., 1], raw[..., 2], raw[..., 0]])
    cv2.imwrite(str(tmp_path / "a.png"), rgba)
    cv2.imwrite(str(tmp_path / "t.tif"), raw, [cv2.IMWRITE_TIFF_COMPRESSION, 1])
    uv, mask = uvio.read_uv(root / "uv/f.0002.png")
    assert 0 < mask.sum() < mask.size
    for path in (tmp_path / "a.png", tmp_path / "t.tif"):
        u16, m16 = uvio.read_uv(path, keep_u16=True)
        np.testing.assert_array_equal(m16, mask)
        np.testing.assert_array_equal(u16[..., 0], raw[..., 2])
        np.testing.assert_array_equal(u16[..., 1], raw[..., 1])
        np.testing.assert_array_equal(uvio.read_uv(path)[1], mask)
