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


VOXEL_METRICS = ("l1", "psnr", "input_rel_l1", "mass_ratio", "residual", "flicker",
                 "detail_residual")


def test_eval_region_by_region_equals_the_one_block_run(tmp_path, capsys, monkeypatch):
    """Two puffs 40 low-res cells apart: region by region (BILLOW_REGIONS=always), the voxel
    metrics equal the one-block run's (docs/guarantees.md); spectra and image metrics are
    combined over the regions, so they are only checked for sense."""
    from .conftest import lr_matrix, transported_sequence
    from billow.ops import downsample, downsample_velocity

    gap = 40
    a, v = transported_sequence((32, 32, 32), 3, (0.6, 0.4, 0.0))
    b, _ = transported_sequence((32, 32, 32), 3, (0.6, 0.4, 0.0), seed=1)
    hr = [torch.cat([x, torch.zeros(4 * gap, 32, 32), y], 0) for x, y in zip(a, b)]
    v = v[:, :1, :1, :1].expand(3, *hr[0].shape).contiguous()
    lr = [downsample(y[None, None], 4)[0, 0] for y in hr]
    m = lr_matrix()
    inp = write_sequence(tmp_path / "lr", "smoke", lr, downsample_velocity(v[None], 4)[0], m)
    ref = write_sequence(tmp_path / "hr", "smoke", hr, v, upres_matrix(m, 4))
    out = str(tmp_path / "out" / "up.####.vdb")
    code, _, err = run(capsys, "baseline", inp, out, "--progress", "none")
    assert code == 0, err
    data = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("BILLOW_REGIONS", mode)
        code, _, err = run(capsys, "eval", "--output", out, "--input", inp, "--reference", ref,
                           "--baselines", "nearest,tricubic", "--report", str(tmp_path / mode),
                           "--progress", "none", "--preview-frames", "2")
        assert code == 0, err
        data[mode] = json.loads((tmp_path / mode / "metrics.json").read_text())
    regions = data["always"]
    assert any("2 occupied region(s)" in n for n in regions["notes"])
    for name in ("output", "nearest", "tricubic", "reference"):
        whole, parts = data["never"]["methods"][name], regions["methods"][name]
        for key in VOXEL_METRICS:
            if key in whole["per_frame"]:
                np.testing.assert_allclose(parts["per_frame"][key], whole["per_frame"][key],
                                           rtol=1e-5, atol=1e-6, err_msg=f"{name} {key}")
        assert parts["summary"]["detail_fraction"] > 0
    ref_summary = regions["methods"]["reference"]["summary"]
    assert ref_summary["detail_log_ratio"] == pytest.approx(0.0)
    assert regions["methods"]["output"]["summary"]["detail_log_ratio"] < -0.5
    assert 0 < regions["methods"]["output"]["summary"]["ssim"] <= 1
    # wavelet turbulence keeps one block across frames: refused in one line in region mode
    code, _, err = run(capsys, "eval", "--input", inp, "--baselines", "wavelet", "--scale",
                       "4", "--report", str(tmp_path / "w"), "--progress", "none")
    assert "wavelet turbulence keeps its state" in one_line_error(code, err)
