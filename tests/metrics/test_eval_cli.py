"""`billow eval` and `billow baseline` end to end on tiny VDB sequences, and the bad inputs
they must refuse with one line and exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from billow.cli import main
from billow.io import read_grid, upres_matrix
from billow.io.transform import index_to_world

from .conftest import write_sequence


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_baseline_then_eval_writes_the_report(paired, capsys):
    d = paired["dir"]
    out = str(d / "out" / "up.####.vdb")
    code, _, err = run(capsys, "baseline", paired["input"], out, "--method", "tricubic",
                       "--progress", "none")
    assert code == 0, err
    # placed on the exact upres transform: same world-space centre of mass as the input
    lr = read_grid(d / "lr" / "smoke.0003.vdb", "density")
    hr = read_grid(d / "out" / "up.0003.vdb", "density")
    np.testing.assert_allclose(hr.matrix, upres_matrix(lr.matrix, 4), atol=1e-9)

    def com(v):
        w = index_to_world(v.matrix, np.stack(np.meshgrid(
            *[np.arange(n) + o for n, o in zip(v.shape, v.offset)], indexing="ij"), -1))
        return (w * v.data[..., None]).sum((0, 1, 2)) / v.data.sum()

    np.testing.assert_allclose(com(hr), com(lr), atol=0.02 * 0.4)

    report = d / "report"
    code, stdout, err = run(capsys, "eval", "--output", out, "--input", paired["input"],
                            "--reference", paired["reference"], "--baselines",
                            "nearest,wavelet", "--report", str(report), "--progress", "none",
                            "--name", "mine", "--preview-frames", "2")
    assert code == 0, err
    assert "| mine |" in stdout and "report:" in stdout
    html = (report / "index.html").read_text()
    assert html.count("data:image/png;base64,") == 3  # spectrum, temporal, one picture sheet
    data = json.loads((report / "metrics.json").read_text())
    methods = data["methods"]
    assert set(methods) == {"mine", "nearest", "wavelet", "reference"}
    ref = methods["reference"]["summary"]
    assert ref["residual_ratio"] == pytest.approx(1.0)
    assert ref["detail_log_ratio"] == pytest.approx(0.0)
    assert ref["input_rel_l1"] < 1e-6  # the input is the reference, downsampled
    mine = methods["mine"]["summary"]
    assert mine["detail_log_ratio"] < -0.5  # tricubic lacks the fine detail
    assert mine["psnr"] > methods["nearest"]["summary"]["psnr"]
    assert len(methods["mine"]["per_frame"]["residual"]) == 3


def test_eval_without_reference_reports_not_available(paired, capsys):
    report = paired["dir"] / "noref"
    code, stdout, err = run(capsys, "eval", "--input", paired["input"], "--baselines",
                            "trilinear", "--scale", "4", "--report", str(report),
                            "--progress", "none", "--preview-frames", "1")
    assert code == 0, err
    row = next(line for line in stdout.splitlines() if line.startswith("| trilinear"))
    assert "n/a" in row
    summary = json.loads((report / "metrics.json").read_text())["methods"]["trilinear"]["summary"]
    assert summary["psnr"] is None and summary["mass_ratio"] == pytest.approx(1.0, abs=1e-3)
    assert "not available" in (report / "index.html").read_text()


def one_line_error(code, err):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_mismatched_frame_ranges(paired, capsys):
    d = paired["dir"]
    (d / "hr" / "smoke.0004.vdb").unlink()
    code, _, err = run(capsys, "eval", "--input", paired["input"], "--reference",
                       paired["reference"], "--report", str(d / "r"), "--progress", "none")
    line = one_line_error(code, err)
    assert "frames 1-3" in line and "frames 1-4" in line and "reference" in line


def test_mismatched_resolution(paired, capsys):
    d = paired["dir"]
    hr8 = write_sequence(d / "hr8", "smoke", [torch.full((64, 64, 64), 0.1)] * 4,
                         None, upres_matrix(paired["matrix"], 8))
    code, _, err = run(capsys, "eval", "--input", paired["input"], "--reference",
                       paired["reference"], "--output", hr8, "--report", str(d / "r"),
                       "--progress", "none")
    line = one_line_error(code, err)
    assert "8x" in line and "4x" in line


def test_mismatched_resolution_same_voxels(paired, capsys):
    """A reference at the right voxel size but covering a much larger domain."""
    d = paired["dir"]
    big = write_sequence(d / "big", "smoke", [torch.full((96, 96, 96), 0.1)] * 4, None,
                         upres_matrix(paired["matrix"], 4))
    code, _, err = run(capsys, "eval", "--input", paired["input"], "--reference", big,
                       "--report", str(d / "r"), "--progress", "none")
    line = one_line_error(code, err)
    assert "resolutions do not match" in line and "reference" in line and "input" in line


def test_mismatched_transform(paired, capsys):
    d = paired["dir"]
    m = upres_matrix(paired["matrix"], 4)
    m[3, :3] += 0.5 * 0.1  # half an output voxel off: the classic cell-centre mistake
    shifted = write_sequence(d / "shifted", "smoke", paired["hr"], None, m, offset=(8, 0, -4))
    code, _, err = run(capsys, "eval", "--input", paired["input"], "--output", shifted,
                       "--report", str(d / "r"), "--progress", "none")
    line = one_line_error(code, err)
    assert "does not overlay" in line and "input" in line and "output" in line
    assert "0.5" in line


def test_unknown_baseline_and_nothing_to_do(paired, capsys):
    code, _, err = run(capsys, "eval", "--input", paired["input"], "--baselines", "bicubic",
                       "--report", "x", "--progress", "none")
    assert "bicubic" in one_line_error(code, err)
    code, _, err = run(capsys, "eval", "--input", paired["input"], "--report", "x",
                       "--progress", "none")
    assert "nothing to evaluate" in one_line_error(code, err)


def test_eval_input_without_velocity(paired, capsys):
    d = paired["dir"]
    lr = write_sequence(d / "novel", "smoke", paired["lr"], None, paired["matrix"],
                        offset=(2, 0, -1))
    code, _, err = run(capsys, "eval", "--input", lr, "--reference", paired["reference"],
                       "--baselines", "tricubic", "--report", str(d / "nv"), "--progress",
                       "none", "--preview-frames", "1")
    assert code == 0, err
    data = json.loads((d / "nv" / "metrics.json").read_text())
    s = data["methods"]["tricubic"]["summary"]
    assert s["residual"] is None and s["flicker"] is not None and s["psnr"] > 20
    assert any("no velocity" in n for n in data["notes"])
    code, _, err = run(capsys, "eval", "--input", lr, "--baselines", "wavelet", "--scale", "4",
                       "--report", str(d / "nv2"), "--progress", "none")
    assert "velocity" in one_line_error(code, err)
