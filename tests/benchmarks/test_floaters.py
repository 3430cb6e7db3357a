"""benchmarks/floaters.py: a speck where the input has no smoke is counted, smoke inside the
input's footprint is not."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tests.benchmarks.test_ood_motion import write

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import floaters


def test_a_speck_outside_the_inputs_footprint_is_a_floater(tmp_path, capsys):
    import json

    sim, ev = tmp_path / "data" / "s" / "vdb" / "sim_0000", tmp_path / "eval" / "s"
    (tmp_path / "data" / "s").mkdir(parents=True)
    (tmp_path / "data" / "s" / "set.json").write_text(json.dumps({"hr_res": [32, 32, 32]}))
    smoke = np.zeros((32,) * 3, np.float32)
    smoke[8:16, 8:16, 8:16] = 1.0
    speck = smoke.copy()
    speck[28, 28, 28] = 0.5  # far from the smoke: tricubic is 0 there
    write(ev / "tricubic" / "up.0001.vdb", smoke)
    write(ev / "clean" / "up.0001.vdb", smoke)
    write(ev / "specks" / "up.0001.vdb", speck)
    write(sim / "hr.0001.vdb", smoke)
    floaters.main(["--data", str(tmp_path / "data"), "--eval", str(tmp_path / "eval"),
                   "--methods", "clean,specks", "--sets", "s", "--frame", "1"])
    row = capsys.readouterr().out.splitlines()[-1].strip("|").split("|")
    clean, specks, ref = (c.strip() for c in row[1:])
    assert clean == "0.000% / 0.000" and ref == clean
    assert specks == f"{100 * 0.5 / speck.sum():.3f}% / 0.500"
