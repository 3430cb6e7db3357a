"""The one metric accumulator: `billow eval` (VDB sequences) and the held-out benchmark
(`billow.train.heldout`, paired data) report the same numbers for the same frames, and the
accumulator's sums give the per-frame metrics of `billow.metrics`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from billow.cli import main
from billow.evaluation import MetricAccumulator
from billow.io import upres_matrix
from billow.metrics import l1, mass_ratio, psnr
from billow.metrics.temporal import coherence
from billow.ops import downsample, downsample_velocity
from billow.train import heldout

from ..metrics.conftest import lr_matrix, transported_sequence, write_sequence

SHARED = ("l1", "psnr", "input_rel_l1", "mass_ratio", "residual", "flicker", "detail_residual",
          "spectrum_error", "detail_log_ratio", "detail_fraction", "residual_ratio",
          "flicker_ratio")


def _half(t: torch.Tensor) -> torch.Tensor:
    """Values a float16 paired-data file holds exactly, so both copies of a frame agree."""
    return t.half().float()


def test_billow_eval_and_heldout_report_the_same_metrics(tmp_path, capsys):
    hr, v = transported_sequence((32, 32, 32), 4, (0.6, 0.4, 0.0))
    hr = [_half(y) + 0.01 for y in hr]  # no empty voxel: the VDB block is the whole domain
    hr = [_half(y) for y in hr]
    lr = [_half(downsample(y[None, None], 4)[0, 0]) for y in hr]
    v_lr = _half(downsample_velocity(v[None], 4)[0])
    # the same frames as VDB sequences ...
    m = lr_matrix()
    inp = write_sequence(tmp_path / "lr", "smoke", lr, v_lr, m)
    ref = write_sequence(tmp_path / "hr", "smoke", hr, v, upres_matrix(m, 4))
    # ... and as paired data
    data = tmp_path / "pairs"
    data.mkdir()
    frames = len(hr)
    np.savez_compressed(data / "sim_0000.npz",
                        hr_density=torch.stack(hr).numpy().astype(np.float16),
                        hr_velocity=v[None].expand(frames, -1, -1, -1, -1).numpy()
                        .astype(np.float16),
                        lr_density=torch.stack(lr).numpy().astype(np.float16),
                        lr_velocity=v_lr[None].expand(frames, -1, -1, -1, -1).numpy()
                        .astype(np.float16))
    (data / "manifest.json").write_text(json.dumps({
        "format": "billow-pairs/1", "dim": 3, "factor": 4, "hr_res": 32, "lr_res": 8,
        "frames": frames, "sims": [{"id": "sim_0000", "file": "sim_0000.npz", "seed": 0,
                                    "scene": "noise"}]}))

    report = tmp_path / "report"
    code = main(["eval", "--input", inp, "--reference", ref, "--baselines", "tricubic",
                 "--report", str(report), "--progress", "none"])
    assert code == 0, capsys.readouterr().err
    ev = json.loads((report / "metrics.json").read_text())["methods"]
    held = heldout.evaluate({"tricubic": heldout.baseline_method("tricubic", 4)}, data)
    for name in ("tricubic", "reference"):
        a, b = ev[name]["summary"], held["summary"][name]
        for key in SHARED:
            if key in ("l1", "psnr") and name == "reference":
                continue  # the reference is not measured against itself
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-9), (name, key)
    assert math.isfinite(held["summary"]["tricubic"]["residual"])


def test_accumulator_sums_give_the_per_frame_metrics():
    torch.manual_seed(0)
    f = 4
    ref = [torch.rand(16, 16) for _ in range(3)]
    out = [r + 0.05 * torch.randn(16, 16) for r in ref]
    x = [downsample(r[None, None], f)[0, 0] for r in ref]
    v = torch.full((2, 16, 16), 1.2)  # high-res cells per frame
    acc = MetricAccumulator(["out", "ref"], f, "ref")
    for t in range(3):
        acc.add(x[t], {"out": out[t], "ref": ref[t]}, v)
        acc.end_frame(float(ref[t].numel()))
    per = acc.per_frame["out"]
    for t in range(3):
        assert per["l1"][t] == pytest.approx(l1(out[t], ref[t]), rel=1e-5)
        assert per["psnr"][t] == pytest.approx(psnr(out[t], ref[t]), rel=1e-5)
        assert per["mass_ratio"][t] == pytest.approx(mass_ratio(out[t], x[t], f), rel=1e-5)
    for t in (1, 2):  # temporal metrics from the second frame on
        want, _ = coherence(out[t - 1], out[t], v, f)
        for key, value in want.items():
            assert per[key][t - 1] == pytest.approx(value, rel=1e-4)
    s = acc.summary()
    assert s["ref"]["residual_ratio"] == 1.0 and s["ref"]["spectrum_error"] == 0.0
    assert s["out"]["l1"] == pytest.approx(np.mean(per["l1"]))
    # a new sequence has no frame pair across the boundary
    acc.start_sequence()
    acc.add(x[0], {"out": out[0], "ref": ref[0]}, None)
    acc.end_frame(256.0)
    assert len(acc.per_frame["out"]["residual"]) == 2
