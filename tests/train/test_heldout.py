"""Held-out evaluation: the reference scores perfectly on itself, interpolation lacks detail,
and the metrics react to what they claim to measure."""

from __future__ import annotations

import math

import torch
from billow.train import heldout


def test_reference_and_tricubic_rows(data2d, tmp_path):
    ev = heldout.evaluate({"tricubic": heldout.baseline_method("tricubic", 4)}, data2d,
                          keep=("sim_0000", 1))
    s = ev["summary"]
    ref, tri = s[heldout.REFERENCE], s["tricubic"]
    assert ref["spectrum_error"] == 0.0 and ref["residual_ratio"] == 1.0
    assert ref["density_ratio"] == 1.0
    assert tri["detail_log_ratio"] < -0.5  # interpolation lacks the fine detail
    assert tri["spectrum_error"] > 0.5
    assert abs(tri["mass_ratio"] - 1.0) < 0.05  # tricubic keeps the mass of the input
    assert math.isfinite(tri["l1"]) and tri["l1"] > 0
    md = heldout.table(s)
    assert md.count("\n") == 3 and "tricubic" in md
    png = heldout.derivative_figure(ev["kept"], tmp_path / "fig.png", "test")
    assert png.stat().st_size > 1000


def test_darkened_and_flickering_outputs_are_caught(data2d):
    up = heldout.baseline_method("trilinear", 4)
    gen = torch.Generator().manual_seed(0)

    def darker(x):
        return 0.5 * up(x)

    def flicker(x):
        y = up(x)
        return y + 0.05 * torch.rand(y.shape, generator=gen)  # new noise every frame

    s = heldout.evaluate({"trilinear": up, "darker": darker, "flicker": flicker},
                         data2d)["summary"]
    assert abs(s["darker"]["density_ratio"] - 0.5 * s["trilinear"]["density_ratio"]) < 1e-3
    assert s["flicker"]["flicker_ratio"] > 2 * s["trilinear"]["flicker_ratio"]
