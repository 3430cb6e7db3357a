"""benchmarks/ood_bounds.py: oracles from the true high-res frame, on real VDB files."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from billow.io import Volume, write_vdb
from billow.metrics import radial_spectrum, spectrum_error

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import ood_bounds


def field(side=32, seed=0):
    """Positive smoke-like field: a smooth blob plus fine texture."""
    g = np.random.default_rng(seed)
    x = np.stack(np.meshgrid(*[np.linspace(-1, 1, side)] * 3, indexing="ij"))
    blob = np.exp(-4 * (x ** 2).sum(0))
    return (0.5 + blob + 0.1 * g.random((side,) * 3)).astype(np.float32)


def test_lowpass_keeps_the_input_band_and_removes_what_lies_above():
    n = 32
    i = np.arange(n)
    low = np.cos(2 * np.pi * 2 * i / n)[:, None, None] * np.ones((n, n, n))  # 1/16 cycle/voxel
    high = np.cos(2 * np.pi * 8 * i / n)[None, :, None] * np.ones((n, n, n))  # 1/4 cycle/voxel
    out = ood_bounds.lowpass((low + high).astype(np.float32), 0.5 / 4)
    assert np.allclose(out, low, atol=1e-5)


def test_moved_texture_keeps_the_spectrum_and_costs_l1():
    ref = field()
    o = ood_bounds.oracles(ref, ref * 0 + ref.mean())
    s_ref = radial_spectrum(ref)
    moved = o["oracle_low+texture_moved"]
    # the Hann window sees the rolled texture at other weights: close, not exact
    assert spectrum_error(radial_spectrum(moved), s_ref, 4) < 0.1
    assert spectrum_error(radial_spectrum(o["oracle_low+half_texture_moved"]), s_ref, 4) > 0.4
    assert spectrum_error(radial_spectrum(o["oracle_low"]), s_ref, 4) > 1.0
    assert np.abs(moved - ref).mean() > np.abs(o["oracle_low"] - ref).mean()


def test_command_reads_a_set_and_refuses_bad_input(tmp_path, capsys):
    base = tmp_path / "s" / "vdb" / "sim_0000"
    base.mkdir(parents=True)
    ref = field()
    lr = ref.reshape(8, 4, 8, 4, 8, 4).mean(axis=(1, 3, 5))
    for name, a in (("hr", ref), ("lr", lr)):
        write_vdb(base / f"{name}.0001.vdb", [Volume("density", a, (0, 0, 0), np.eye(4))])
    assert ood_bounds.main(["--data", str(tmp_path), "--sets", "s", "--frames", "1"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[2].strip(): line for line in out.splitlines() if "| s |" in line}
    assert set(rows) == {"tricubic", "oracle_low", "oracle_low+half_texture_moved",
                         "oracle_low+texture_moved"}
    assert "| 1.000 |" in rows["tricubic"]
    assert ood_bounds.main(["--data", str(tmp_path), "--sets", "s", "--frames", "2"]) == 2
    assert "frame 2 missing" in capsys.readouterr().err
    assert ood_bounds.main(["--data", str(tmp_path), "--sets", "t", "--frames", "1"]) == 2
    assert "no set 't'" in capsys.readouterr().err
    assert ood_bounds.main(["--data", str(tmp_path), "--sets", "s", "--frames", "x"]) == 2

