"""benchmarks/steady_ood.py: a missing benchmark run is one line and exit 2, before any work."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import steady_ood


def test_a_set_without_the_benchmarks_results_is_refused(tmp_path, capsys):
    code = steady_ood.main(["--data", str(tmp_path), "--eval", str(tmp_path / "ev"), "--out",
                            str(tmp_path / "out"), "--steady", "s3=--taps 1,1,1", "--sets", "ood_dense_128"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ood_benchmark.py eval" in err[0]
    assert not (tmp_path / "out").exists()
