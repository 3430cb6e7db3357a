"""Metrics of reconstructions (App. C.2): PSNR/SSIM over the figure, tOF, T-diff."""

import math

import numpy as np
from billow.uv import evaluate as ev

from . import toy_sequence


def test_ground_truth_reconstructs_the_frames():
    seq = toy_sequence.make(frames=3)
    rec = ev.reconstruct(seq["texture"], seq["gt"], seq["fg"])
    res = ev.evaluate(rec, seq["rgb"], seq["fg"], seq["gt"], seq["fg"], seq["size"])
    m = res["mean"]
    assert m["psnr"] > 60 or math.isinf(m["psnr"])
    assert m["ssim"] > 0.999 and m["tof"] < 1e-3 and m["tdiff_uv"] < 1e-3
    assert len(res["frames"]["psnr"]) == 3 and len(res["frames"]["tof"]) == 2


def test_missing_garment_counts_against_the_figure_but_not_the_uv_mask():
    seq = toy_sequence.make(frames=2)
    body = seq["fg"].copy()
    body[:, 26:] = False  # the skirt rows have no UVs
    rec = ev.reconstruct(seq["texture"], seq["gt"], body)
    m = ev.evaluate(rec, seq["rgb"], seq["fg"], seq["gt"], body, seq["size"])["mean"]
    assert m["psnr"] < 20 and (m["psnr_uv"] > 60 or math.isinf(m["psnr_uv"]))


def test_jittered_uvs_are_less_coherent_in_time():
    seq = toy_sequence.make(frames=4, jitter=2.0)
    size, fg = seq["size"], seq["fg"]
    good = ev.evaluate(ev.reconstruct(seq["texture"], seq["gt"], fg), seq["rgb"], fg,
                       seq["gt"], fg, size)["mean"]
    # raw-like UVs on the whole figure: the ground truth shifted by a per-frame jitter
    rng = np.random.default_rng(1)
    jitter = rng.uniform(-2, 2, (4, 1, 1, 2)) / np.array([size[1], size[0]])
    shaky = np.where(fg[..., None], seq["gt"] + jitter, 0).astype(np.float32)
    bad = ev.evaluate(ev.reconstruct(seq["texture"], shaky, fg), seq["rgb"], fg, shaky, fg,
                      size)["mean"]
    assert bad["tof"] > good["tof"] + 0.1
    assert bad["tdiff"] > good["tdiff"]
    assert bad["psnr"] < good["psnr"]


def test_constant_texture_is_filled_per_tile():
    seq = toy_sequence.make(frames=1)
    tex = ev.constant_texture(seq["rgb"][0], seq["gt"][0], seq["fg"][0], seq["size"])
    assert tex.shape == (*seq["size"], 3)
    t = toy_sequence.TILE
    assert np.all(tex[:t, :t] == 0)  # part 1: no pixel maps there
    assert np.all(tex[t:2 * t, :t].sum(-1) > 0)  # part 2 is filled all over
