"""`billow.uv.preprocess`, the one extend -> optimise -> relocate chain (the command and the
benchmark both call it): each stage starts from the previous one, stages are reported in order
as they finish, and the result equals the three stages run by hand."""

from __future__ import annotations

import numpy as np
from billow.uv.extend import ExtendConfig, extend
from billow.uv.optimise import OptimiseConfig, optimise
from billow.uv.preprocess import STAGES, expected_steps, preprocess
from billow.uv.relocate import RelocateConfig, relocate

from . import toy_sequence


def test_chain_equals_the_stages_by_hand_and_reports_each_stage():
    seq = toy_sequence.make(frames=3)
    ext, opt, rel = ExtendConfig(), OptimiseConfig(iters=3), RelocateConfig()
    seen, steps = [], []
    res = preprocess(seq["raw"], seq["raw_mask"], seq["rgb"], seq["fg"], seq["size"], ext, opt,
                     rel, 1, on_stage=lambda *a: seen.append(a),
                     on_step=lambda *a: steps.append("optimise"),
                     on_frame=lambda *a: steps.append("relocate"))
    uv_e, mask_e, info = extend(seq["raw"], seq["raw_mask"], seq["fg"], ext)
    uv_o, log = optimise(uv_e, mask_e, seq["rgb"], seq["size"], opt)
    uv_f, tex, _, rel_info = relocate(uv_o, mask_e, seq["rgb"], seq["size"], rel, 1)
    for got, want in ((res.extended, uv_e), (res.mask, mask_e), (res.optimised, uv_o),
                      (res.relocated, uv_f), (res.texture, tex)):
        assert np.array_equal(got, want)
    assert res.optimise_log == log and res.relocate_info["rejected"] == rel_info["rejected"]
    assert res.extend_info["missing"] == info["missing"] > 0
    assert [s[0] for s in seen] == list(STAGES)
    assert seen[0][1] is res.extended and seen[2][1] is res.relocated
    assert seen[0][4] is res.extend_info and seen[1][4] is res.optimise_log
    assert len(steps) == expected_steps(3, opt)
    assert set(res.timings) == {"extend_s", "optimise_s", "relocate_s"}
