"""Training of the temporal UV generator: staged schedule (App. C.1), crops, checkpoints and
resume, logs, and that it learns on a tiny clip."""

from __future__ import annotations

import json

import pytest
import torch
from billow.errors import InputError
from billow.uv import nets
from billow.uv.clips import CropSampler
from billow.uv.training import UVTrainConfig, UVTrainer, load_checkpoint

from ._tiny_clip import clip

NET = nets.UVNetConfig(blocks=1, width=8, d_width=8)


def _cfg(**kw):
    base = {"iterations": 4, "pretrain": 2, "d_img_steps": 2, "batch": 2, "crop": 32,
            "margin": 4, "log_every": 1, "checkpoint_every": 2, "tensorboard": "off",
            "weight_every": 2}
    return UVTrainConfig(**{**base, **kw})


def _params(m):
    return [p.detach().clone() for p in m.parameters()]


def _lines(path):
    return path.read_text().splitlines()


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_crop_sampler_gives_aligned_triples_near_the_silhouette():
    c = clip()
    s = CropSampler(c, 32, 4, 0.0, torch.Generator().manual_seed(0))
    b = s.sample(5)
    assert b["raw3"].shape == b["target3"].shape == (5, 3, 3, 32, 32)
    assert b["rgb3"].shape == (5, 3, 3, 32, 32) and b["target_wide"].shape == (5, 3, 40, 40)
    assert float(b["target3"][:, 1, 2].mean()) > 0.1  # centred near the foreground
    # the wide target frame t-1 holds the crop's frame t-1 in its centre
    assert torch.equal(b["target_wide"][:, :, 4:36, 4:36], b["target3"][:, 0])
    with pytest.raises(InputError):
        CropSampler(clip(h=16, w=16), 32, 4, 0.0, torch.Generator())


def test_staged_schedule_freezes_the_right_networks(tmp_path):
    tr = UVTrainer(NET, _cfg(variant="v3"), clip(), tmp_path / "run")
    assert tr.plan() == [("g", 2), ("d_img", 2), ("g", 4)]
    g0, dimg0 = _params(tr.G), _params(tr.D["D_img"])
    logs = tr.step()  # stage 1: L_G1, D_img untouched
    assert "g_img_s" not in logs and "g_uv_t" in logs and "g_smo" in logs
    assert not _same(g0, _params(tr.G)) and _same(dimg0, _params(tr.D["D_img"]))
    g1 = _params(tr.G)
    logs = tr.step_d_img_only()  # stage 2: G frozen, D_img alone
    assert set(logs) == {"d_img", "d_img_acc_real", "d_img_acc_fake"}
    assert _same(g1, _params(tr.G)) and not _same(dimg0, _params(tr.D["D_img"]))
    tr.step_g = 2  # stage 3: everything, image terms on
    logs = tr.step()
    assert logs["g_img_s"] > 0 and "g_img_t" in logs and logs["lambda_img_s"] > 0
    v1 = UVTrainer(NET, _cfg(variant="v1"), clip(), tmp_path / "v1")
    assert set(v1.D) == {"D_s"} and v1.plan() == [("g", 4)]
    assert "g_smo" not in v1.step()
    assert set(UVTrainer(NET, _cfg(variant="v2"), clip(), tmp_path / "v2").D) == {"D_s", "D_t"}


def test_full_run_logs_stages_and_resumes_exactly(tmp_path):
    c = clip()
    full = UVTrainer(NET, _cfg(variant="v3"), c, tmp_path / "full")
    full.train()
    stages = [json.loads(line)["stage"] for line in _lines(tmp_path / "full" / "log.jsonl")]
    assert stages == [1, 1, 2, 2, 3, 3]
    assert json.loads((tmp_path / "full" / "config.json").read_text())["train"]["variant"] == "v3"
    ckpt = load_checkpoint(tmp_path / "full")
    assert ckpt["step_g"] == 4 and ckpt["step_d_img"] == 2 and ckpt["wall_time"] > 0

    half = UVTrainer(NET, _cfg(variant="v3", iterations=2, d_img_steps=1), c, tmp_path / "r")
    half.train()
    resumed = UVTrainer(NET, _cfg(variant="v3"), c, tmp_path / "r")
    resumed.load(tmp_path / "r")
    assert (resumed.step_g, resumed.step_d_img) == (2, 1)
    resumed.train()
    for k in full.nets:
        assert _same(_params(full.nets[k]), _params(resumed.nets[k])), k


def test_v3_branched_from_a_v2_checkpoint_equals_a_straight_v3_run(tmp_path):
    c = clip()
    straight = UVTrainer(NET, _cfg(variant="v3"), c, tmp_path / "v3")
    straight.train()
    UVTrainer(NET, _cfg(variant="v2", keep_at="2"), c, tmp_path / "v2").train()
    kept = tmp_path / "v2" / "checkpoint.2.pt"
    assert kept.is_file() and load_checkpoint(kept)["step_g"] == 2
    branched = UVTrainer(NET, _cfg(variant="v3"), c, tmp_path / "b")
    branched.branch(kept)
    branched.train()
    for k in straight.nets:
        assert _same(_params(straight.nets[k]), _params(branched.nets[k])), k
    assert load_checkpoint(tmp_path / "b")["branched_from"] == str(kept.resolve())
    with pytest.raises(InputError, match="pretrain"):
        UVTrainer(NET, _cfg(variant="v3", pretrain=3), c, tmp_path / "x").branch(kept)
    with pytest.raises(InputError, match="differs"):
        UVTrainer(NET, _cfg(variant="v3", lr=1e-3), c, tmp_path / "y").branch(kept)


def test_training_reduces_the_supervised_loss(tmp_path):
    torch.manual_seed(0)
    cfg = _cfg(variant="v1", iterations=40, batch=4, lr=2e-3, log_every=10,
               checkpoint_every=40)
    tr = UVTrainer(NET, cfg, clip(), tmp_path / "run")
    tr.train()
    rows = [json.loads(line) for line in _lines(tmp_path / "run" / "log.jsonl")]
    assert rows[-1]["g_l2"] < 0.5 * rows[0]["g_l2"]
    assert rows[-1]["g_i"] < rows[0]["g_i"]


def test_tensorboard_events_when_installed(tmp_path):
    pytest.importorskip("tensorboard")
    UVTrainer(NET, _cfg(variant="v1", iterations=1, tensorboard="on"), clip(),
              tmp_path / "run").train()
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))


def test_bad_config_and_checkpoint(tmp_path):
    with pytest.raises(InputError, match="crop"):
        _cfg(crop=24).validate()
    with pytest.raises(InputError, match="pretrain"):
        _cfg(variant="v3", pretrain=9).validate()
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="checkpoint"):
        load_checkpoint(tmp_path)
