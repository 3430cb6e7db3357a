"""The run machinery both trainers share: shared config fields, preset and resume planning,
checkpoint loading, the loss log, the optimiser set-up and the ONNX parity check."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from billow.errors import InputError
from billow.run import folder, loop, onnx, plan
from billow.run.config import RunSettings
from billow.run.logs import RunLog
from billow.train.config import TrainConfig
from billow.uv.nets import UVNetConfig
from billow.uv.training import UVTrainConfig

SHARED = [f.name for f in dataclasses.fields(RunSettings)]


def test_both_configs_build_on_the_shared_fields():
    assert len(SHARED) == 9
    for cls in (TrainConfig, UVTrainConfig):
        assert issubclass(cls, RunSettings)
        assert [f.name for f in dataclasses.fields(cls)][:9] == SHARED
        assert cls.__dataclass_params__.frozen
    # each product keeps its own defaults and words, with the shared choices
    assert TrainConfig().iterations == 40000 and UVTrainConfig().iterations == 150000
    assert UVTrainConfig().threads == 1 and TrainConfig().threads == 0
    uv = {f.name: f for f in dataclasses.fields(UVTrainConfig)}
    assert "generator steps" in uv["iterations"].metadata["help"]
    assert uv["tensorboard"].metadata["choices"] == ("auto", "on", "off")
    with pytest.raises(dataclasses.FrozenInstanceError):
        UVTrainConfig().lr = 1.0


def test_presets_resolve_in_one_order_for_both_products():
    sections = {"net": UVNetConfig, "train": UVTrainConfig}
    values = plan.layered(sections, plan.preset(plan.UV_PRESETS, "cpu"), {"batch": 2})
    assert values["net"]["blocks"] == 4 and values["train"]["crop"] == 64
    assert values["train"]["batch"] == 2  # explicit flags over the preset
    assert plan.preset(plan.SMOKE_PRESETS, None) == {}
    with pytest.raises(InputError, match="choose one of"):
        plan.preset(plan.SMOKE_PRESETS, "nope")
    with pytest.raises(KeyError):
        plan.layered(sections, {"not_a_field": 1})
    given = plan.explicit({"lr": 0.1, "batch": None, "out": "x"}, (UVTrainConfig,))
    assert given == {"lr": 0.1}


def test_resume_refuses_fixed_fields_and_presets():
    plan.check_resume({"iterations": 5}, {"iterations"}, None)
    with pytest.raises(InputError, match="cannot change lr"):
        plan.check_resume({"iterations": 5, "lr": 1.0}, {"iterations"}, None)
    with pytest.raises(InputError, match="--preset"):
        plan.check_resume({}, {"iterations"}, "cpu")


def test_checkpoints_round_trip_and_refuse_other_formats(tmp_path):
    run = tmp_path / "run"
    folder.create(run, {"config.json": "{}\n"})
    assert (run / "config.json").read_text() == "{}\n"
    with pytest.raises(InputError, match="no checkpoint"):
        folder.load_checkpoint(run, "a/1", "billow a")
    gen = torch.Generator().manual_seed(3)
    folder.save_checkpoint({"format": "a/1", "rng": folder.rng_state(gen)},
                           run / folder.CHECKPOINT)
    with pytest.raises(InputError, match="already holds"):
        folder.refuse_existing(run)
    with pytest.raises(InputError, match="not a b/1 checkpoint"):
        folder.load_checkpoint(run, "b/1", "billow b")
    ckpt = folder.load_checkpoint(run, "a/1", "billow a")
    expected = torch.rand(3, generator=gen)
    other = torch.Generator().manual_seed(99)
    folder.restore_rng(ckpt["rng"], other)
    assert torch.equal(torch.rand(3, generator=other), expected)
    (run / "bad.pt").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a loadable"):
        folder.load_checkpoint(run / "bad.pt", "a/1", "billow a")


def test_run_log_writes_json_lines(tmp_path):
    log = RunLog(tmp_path, "off", "step").open()
    log.write(3, {"loss": 0.5})
    log.close()
    log.close()
    assert json.loads((tmp_path / "log.jsonl").read_text()) == {"step": 3, "loss": 0.5}


def test_adam_scales_the_named_networks_and_runtime_restores_settings():
    nets = {"G": torch.nn.Linear(2, 2), "D_s": torch.nn.Linear(2, 1)}
    opts = loop.adam(nets, 1e-3, 0.5, scale={"D_s": 2.0})
    assert opts["G"].param_groups[0]["lr"] == 1e-3 and opts["D_s"].param_groups[0]["lr"] == 2e-3
    assert opts["G"].param_groups[0]["betas"] == (0.5, 0.999)
    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    with loop.runtime(1, deterministic=True):
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before
    w = nets["G"].weight.detach().clone()
    loop.update(opts["G"], nets["G"](torch.ones(1, 2)).sum())
    assert not torch.equal(w, nets["G"].weight)
    with pytest.raises(InputError, match="cuda"):
        if torch.cuda.is_available():
            raise InputError("--device cuda: present, nothing to check")
        loop.select_device("cuda")


def test_onnx_parity_of_a_two_output_module(tmp_path):
    class Two(torch.nn.Module):
        def forward(self, x):
            return x * 2, x.sum(1, keepdim=True)

    path = tmp_path / "two.onnx"
    axes = {0: "n", 2: "h"}
    onnx.export(Two(), path, (torch.rand(1, 3, 4),), ["x"], ["a", "b"],
                {"x": axes, "a": axes, "b": axes})
    x = np.random.default_rng(0).random((2, 3, 7)).astype(np.float32)
    assert onnx.parity(Two(), path, {"x": x}, ["a", "b"]) < 1e-6
    with pytest.raises(InputError, match="disagrees"):
        onnx.check_parity(1e-3, path)

    class Other(Two):
        def forward(self, x):
            return x * 2 + 1, x.sum(1, keepdim=True)

    assert onnx.parity(Other(), path, {"x": x}, ["a", "b"]) > 0.01
    with pytest.raises(InputError, match="cannot load ONNX model"):
        (tmp_path / "bad.onnx").write_bytes(b"nope")
        onnx.session(tmp_path / "bad.onnx")


def test_update_clips_the_global_gradient_norm_and_reports_it_before():
    """loop.update with clip c: the step uses the gradient scaled to norm c (seen exactly
    with plain SGD) and returns the norm before; without clip nothing changes and it
    returns None."""
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    opt = torch.optim.SGD([w], lr=1.0)
    norm = loop.update(opt, (w * torch.tensor([30.0, 40.0])).sum(), clip=5.0)
    assert norm == pytest.approx(50.0)
    assert torch.allclose(w.detach(), torch.tensor([0.0, 0.0]), atol=1e-5)  # moved by 5 x (0.6, 0.8)
    w2 = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    opt2 = torch.optim.SGD([w2], lr=0.01)
    assert loop.update(opt2, (w2 * torch.tensor([30.0, 40.0])).sum()) is None
    assert torch.allclose(w2.detach(), torch.tensor([2.7, 3.6]))
