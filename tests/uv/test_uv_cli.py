"""`billow uv extend|optimise|relocate|preprocess|eval` on real files: the pipeline end to end,
and bad input -> one line, exit 2, nothing written."""

import argparse
import importlib
import json
import os

import numpy as np
import pytest
from billow.errors import EXIT_INPUT
from billow.uv import io as uvio

from ..commands.cli_helpers import assert_one_line_error, billow, billow_here
from . import toy_sequence

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
import cv2

FAST = ["--push-iters", "10", "--pull-iters", "10", "--iters", "8", "--progress", "none"]


@pytest.fixture(scope="module")
def seq(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    return folder, toy_sequence.write(folder, toy_sequence.make(frames=3))


def test_preprocess_then_eval(seq, tmp_path):
    _, pat = seq
    out = tmp_path / "pre"
    r = billow("uv", "preprocess", "--uv", pat["raw"], "--rgb", pat["rgb"], "--out-dir", out,
               "--texture-size", "48", *FAST)
    assert r.code == 0, r.err
    for stage in ("extended", "optimised", "relocated"):
        assert sorted(p.name for p in (out / stage).iterdir()) == \
            [f"frame.{f:04d}.png" for f in (1, 2, 3)]
    summary = json.loads((out / "preprocess.json").read_text())
    assert set(summary["timings"]) == {"extend_s", "optimise_s", "relocate_s"}
    assert summary["optimise_log"][-1]["loss"] < summary["optimise_log"][0]["loss"]
    _, _, mask = uvio.read_uv_sequence(out / "relocated" / "frame.####.png")
    _, _, fg = uvio.read_rgb_sequence(pat["rgb"])
    assert np.array_equal(mask, fg)  # the whole silhouette, skirt included

    scores = {}
    for name, uv_pat in (("raw", pat["raw"]), ("relocated", out / "relocated/frame.####.png")):
        r = billow_here("uv", "eval", "--uv", uv_pat, "--rgb", pat["rgb"], "--texture",
                        out / "texture.png", "--json", tmp_path / f"{name}.json")
        assert r.code == 0, r.err
        scores[name] = json.loads((tmp_path / f"{name}.json").read_text())["mean"]
    assert scores["relocated"]["psnr"] > scores["raw"]["psnr"] + 5


def test_steps_one_by_one(seq, tmp_path):
    _, pat = seq
    common = ["--rgb", pat["rgb"], "--progress", "none"]
    ext, opt, rel = (str(tmp_path / s / "frame.####.png") for s in ("e", "o", "r"))
    assert billow_here("uv", "extend", "--uv", pat["raw"], "--out", ext, "--push-iters", "10",
                       "--pull-iters", "10", *common).code == 0
    log = tmp_path / "log.json"
    r = billow_here("uv", "optimise", "--uv", ext, "--out", opt, "--iters", "4", "--log", log,
                    "--texture-size", "48", *common)
    assert r.code == 0, r.err
    assert "loss" in r.out and json.loads(log.read_text())["config"]["alpha1"] == 100.0
    r = billow_here("uv", "relocate", "--uv", opt, "--out", rel, "--texture-out",
                    tmp_path / "T_o.png", "--reference-frame", "2", "--texture-size", "48",
                    *common)
    assert r.code == 0, r.err
    tex, _ = uvio.read_rgb(tmp_path / "T_o.png")
    assert tex.shape == (6 * 48, 4 * 48, 3)
    # the reference frame keeps its optimised UVs
    a, _ = uvio.read_uv(tmp_path / "o" / "frame.0002.png")
    b, _ = uvio.read_uv(tmp_path / "r" / "frame.0002.png")
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_size_mismatch_between_uv_and_rgb(seq, tmp_path):
    _, pat = seq
    for f in (1, 2, 3):
        uvio.write_rgb(tmp_path / f"small.{f:04d}.png", np.zeros((40, 40, 3)),
                       np.ones((40, 40), bool))
    r = billow_here("uv", "extend", "--uv", pat["raw"], "--rgb", tmp_path / "small.####.png",
                    "--out", tmp_path / "out/frame.####.png")
    assert_one_line_error(r, EXIT_INPUT, "small.0001.png", "differs")
    assert not (tmp_path / "out").exists()


def test_missing_rgb_frame(seq, tmp_path):
    _, pat = seq
    for f in (1, 3):
        rgb, alpha = uvio.read_rgb(pat["rgb"].replace("####", f"{f:04d}"))
        uvio.write_rgb(tmp_path / f"rgb.{f:04d}.png", rgb, alpha)
    r = billow_here("uv", "optimise", "--uv", pat["raw"], "--rgb", tmp_path / "rgb.####.png",
                    "--out", tmp_path / "out/frame.####.png")
    assert_one_line_error(r, EXIT_INPUT, "missing frame", "2")
    assert not (tmp_path / "out").exists()


def test_gap_in_the_uv_sequence(seq, tmp_path):
    _, pat = seq
    for f in (1, 3):
        uv, mask = uvio.read_uv(pat["raw"].replace("####", f"{f:04d}"))
        uvio.write_uv(tmp_path / f"uv.{f:04d}.png", uv, mask)
    r = billow_here("uv", "relocate", "--uv", tmp_path / "uv.####.png", "--rgb", pat["rgb"],
                    "--out", tmp_path / "out/frame.####.png", "--texture-out", tmp_path / "t.png")
    assert_one_line_error(r, EXIT_INPUT, "missing frame 2")
    assert not (tmp_path / "out").exists() and not (tmp_path / "t.png").exists()


def test_uvs_outside_the_unit_square(seq, tmp_path):
    _, pat = seq
    for f in (1, 2, 3):
        uv, mask = uvio.read_uv(pat["raw"].replace("####", f"{f:04d}"))
        img = np.dstack([uv, mask.astype(np.float32)]).astype(np.float32)
        if f == 2:
            img[mask, 0] += 1.5
        cv2.imwrite(str(tmp_path / f"uv.{f:04d}.exr"), img[..., ::-1])
    r = billow_here("uv", "preprocess", "--uv", tmp_path / "uv.####.exr", "--rgb", pat["rgb"],
                    "--out-dir", tmp_path / "out")
    assert_one_line_error(r, EXIT_INPUT, "uv.0002.exr", "outside [0, 1]")
    assert not (tmp_path / "out").exists()


def test_reference_frame_not_in_the_sequence(seq, tmp_path):
    _, pat = seq
    r = billow_here("uv", "relocate", "--uv", pat["raw"], "--rgb", pat["rgb"], "--out",
                    tmp_path / "o/frame.####.png", "--texture-out", tmp_path / "t.png",
                    "--reference-frame", "9")
    assert_one_line_error(r, EXIT_INPUT, "--reference-frame 9", "1-3")


def test_help_matches_the_group_summary():
    from billow.commands.uv import UV_COMMANDS

    for name in ("extend", "optimise", "relocate", "preprocess", "eval"):
        module = importlib.import_module(f"billow.commands.uv.{name}")
        sub = argparse.ArgumentParser().add_subparsers()
        module.add_parser(sub)
        assert sub._choices_actions[0].help == UV_COMMANDS[name]
        assert sub.choices[name].description
