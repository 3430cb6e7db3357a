"""`billow demo` (the README's first command) at a tiny size, with the shipped model."""

from __future__ import annotations

import pytest
from PIL import Image

from billow.infer.models import models_dir
from billow.io import list_grids

from .cli_helpers import billow


@pytest.mark.skipif(not (models_dir() / "smoke3d_x4.onnx").exists(),
                    reason="the shipped 3D model is not there")
def test_demo_simulates_upreses_and_draws(tmp_path):
    r = billow("demo", "--out", tmp_path, "--res", "16", "--frames", "3", "--progress", "none")
    assert r.code == 0, r.err
    assert "preview.png" in r.out
    # a preview model says so even with --progress none
    assert "warning: model smoke3d_x4 is a preview model" in r.err
    low = list_grids(tmp_path / "sim" / "smoke.0003.vdb")
    high = list_grids(tmp_path / "upres" / "smoke.0003.vdb")
    assert {g.name for g in low} == {"density", "vel"}
    assert high[0].voxel_size[0] == pytest.approx(low[0].voxel_size[0] / 4)
    image = Image.open(tmp_path / "preview.png")
    assert image.size[1] >= 384 and (tmp_path / "preview.gif").exists()
    # four panels (input, trilinear, tricubic, billow), smoke visible in each
    grey = image.convert("L")
    w, h = grey.size
    assert w > 3.5 * h
    for k in range(4):
        panel = grey.crop((k * w // 4 + 4, 20, (k + 1) * w // 4 - 4, h))
        assert max(panel.getdata()) > 100
