"""`billow upres --preview`: a picture of input vs output every N frames, a GIF at the end,
and a closing summary line."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from billow.errors import EXIT_OUTPUT
from billow.infer.preview import BACKGROUND

from ..commands.cli_helpers import assert_one_line_error, billow, billow_here


def _halves_show_smoke(png) -> None:
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    bg = (BACKGROUND * 255).round().astype(int)
    h, w = img.shape[:2]
    body = img[20:]  # below the labels
    left, right = body[:, : w // 2 - 4], body[:, w // 2 + 4:]
    for half in (left, right):
        lit = (np.abs(half - bg).max(axis=-1) > 40).mean()
        assert lit > 0.01, f"{png}: a half shows no smoke ({lit:.4f} of its pixels lit)"


def test_preview_folder_every_n_and_gif(smoke_seq, toy_model, tmp_path):
    r = billow("upres", smoke_seq, tmp_path / "out/hi.####.vdb", "--model", toy_model,
               "--preview", tmp_path / "pv", "--preview-every", "2", "--progress", "log")
    assert r.code == 0, r.err
    names = sorted(p.name for p in (tmp_path / "pv").iterdir())
    # every 2nd frame of 1-4 and always the last
    assert names == ["preview.0001.png", "preview.0003.png", "preview.0004.png", "preview.gif"]
    for name in names[:-1]:
        _halves_show_smoke(tmp_path / "pv" / name)
    gif = Image.open(tmp_path / "pv/preview.gif")
    assert gif.n_frames == 3
    summary = r.out.strip().splitlines()[-1]
    assert summary.startswith("billow upres: 4 frames written in ")
    assert str(tmp_path / "out") in summary and str(tmp_path / "pv/preview.gif") in summary


def test_preview_single_png(smoke_seq, toy_model, tmp_path):
    r = billow_here("upres", smoke_seq, tmp_path / "out/hi.####.vdb", "--model", toy_model,
                    "--frames", "1-2", "--preview", tmp_path / "p/look.png", "--progress",
                    "none")
    assert r.code == 0, r.err
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["look.gif", "look.png"]
    _halves_show_smoke(tmp_path / "p/look.png")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_preview_unwritable_is_one_line_exit_3(smoke_seq, toy_model, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        r = billow_here("upres", smoke_seq, tmp_path / "out/hi.####.vdb", "--model", toy_model,
                        "--preview", ro / "pv")
    finally:
        ro.chmod(0o700)
    assert_one_line_error(r, EXIT_OUTPUT, "--preview")


def test_preview_under_a_file_is_one_line_exit_3(smoke_seq, toy_model, tmp_path):
    (tmp_path / "afile").write_text("x")
    r = billow_here("upres", smoke_seq, tmp_path / "out/hi.####.vdb", "--model", toy_model,
                    "--preview", tmp_path / "afile/pv")
    assert_one_line_error(r, EXIT_OUTPUT, "--preview", "billow upres: error:")
    assert not (tmp_path / "out").exists()
