"""benchmarks/ood_render.py: a fake out-of-family set (input 8^3, reference and one method 32^3)
renders with Cycles into one labelled PNG, panels side by side; the smoke shows against the
background and denser smoke renders more opaque; a missing method is one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from billow.io import Volume, write_vdb

from tests.conftest import blob, scaled_matrix

pytest.importorskip("bpy", reason="Blender's bpy wheel is not installed (pip install bpy)")
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ood_render.py"
sys.path.insert(0, str(SCRIPT.parent))
import ood_render


def write(path, side, scale):
    """A blob filling the unit box (cell-centred lattice, as the sets are), density x scale."""
    data = scale * blob((side,) * 3, (side / 2 - 0.5,) * 3, side / 4)
    m = scaled_matrix(1 / side, (0.5 / side,) * 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_vdb(path, [Volume("density", data, (0, 0, 0), m)])


def make_set(tmp_path):
    sim, ev = tmp_path / "set" / "vdb" / "sim_0000", tmp_path / "eval"
    write(sim / "lr.0003.vdb", 8, 1.0)
    write(sim / "hr.0003.vdb", 32, 4.0)  # the reference: 4x denser than the input
    write(ev / "m" / "up.0003.vdb", 32, 1.0)
    return tmp_path / "set", ev


def test_renders_labelled_panels_side_by_side(tmp_path):
    set_dir, ev = make_set(tmp_path)
    out = tmp_path / "r.png"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--set-dir", str(set_dir), "--eval-dir",
                           str(ev), "--frame", "3", "--methods", "input,m,reference",
                           "--labels", "in,method,ref", "--out", str(out), "--size", "32",
                           "--samples", "2", "--density", "2"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "lattice corner [0.0, 0.0, 0.0]" in proc.stdout and "WARNING" not in proc.stdout
    from PIL import Image

    img = np.asarray(Image.open(out).convert("RGB")).astype(float)
    assert img.shape[1] == 3 * 32 + 2 * ood_render.GAP and img.shape[0] > 32
    panels = [img[-32:, i * (32 + ood_render.GAP):][:, :32].mean(-1) for i in range(3)]
    c = ood_render.BACKGROUND  # the world colour, through the sRGB curve of the Standard view
    bg = 255 * (1.055 * c ** (1 / 2.4) - 0.055)
    dev = [np.abs(p - bg)[4:28, 4:28].mean() for p in panels]  # the blob, not the margin
    assert min(dev) > 15, dev  # smoke is visible in every panel
    assert abs(dev[1] - dev[0]) < 6, dev  # the same smoke at 8^3 and 32^3 renders alike
    assert dev[2] > dev[1] + 10, dev  # 4x the density: clearly more opaque than the same blob


def test_missing_method_is_one_line_and_exit_2(tmp_path, capsys):
    set_dir, ev = make_set(tmp_path)
    args = ["--set-dir", str(set_dir), "--eval-dir", str(ev), "--out", str(tmp_path / "x.png")]
    assert ood_render.main([*args, "--frame", "3", "--methods", "input,nope"]) == 2
    assert ood_render.main([*args, "--frame", "4", "--methods", "m"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no method 'nope'" in err[0] and "frame 4" in err[1]
    assert not (tmp_path / "x.png").exists()
