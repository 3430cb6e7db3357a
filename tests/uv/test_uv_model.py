"""UV model inference, tiling, ONNX export parity, the model card and the train/export/infer
commands end to end on real files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
import torch
from billow.errors import InputError
from billow.uv import io as uvio
from billow.uv import nets
from billow.uv.model import UVModel, export, load_uv_card, raw_input
from billow.uv.training import UVTrainConfig, UVTrainer

from ._tiny_clip import clip, frame
from .test_nets import _randomise_tail

NET = nets.UVNetConfig(blocks=1, width=8, d_width=8)


def _trained_run(path, variant="v1"):
    cfg = UVTrainConfig(variant=variant, iterations=2, pretrain=1, d_img_steps=1, batch=2,
                        crop=32, margin=4, log_every=1, checkpoint_every=2, tensorboard="off")
    tr = UVTrainer(NET, cfg, clip(), path)
    _randomise_tail(tr.G)  # outputs that depend on the input everywhere
    tr.train()
    return tr


def test_tiled_inference_equals_whole_frame():
    torch.manual_seed(0)
    g = nets.UVGenerator(nets.UVNetConfig(blocks=2, width=8))
    _randomise_tail(g)
    m = UVModel.from_generator(g)
    uv, mask, _, _ = frame(0, 70, 90)
    x = raw_input(uv, mask)
    whole_uv, whole_logits = m.predict_raw(x)
    assert whole_uv.shape == (2, 70, 90) and whole_logits.shape == (25, 70, 90)
    tiled_uv, tiled_logits = m.predict_raw(x, tile=32)
    assert np.abs(tiled_uv - whole_uv).max() < 1e-5
    assert np.abs(tiled_logits - whole_logits).max() < 1e-4
    with pytest.raises(InputError, match="tile"):
        m.predict_raw(x, tile=30)
    out_uv, fg, part = m.predict(uv, mask)
    assert out_uv.shape == (70, 90, 2) and fg.dtype == bool
    assert np.array_equal(fg, part != 0) and not out_uv[~fg].any()


def test_export_parity_dynamic_sizes_and_card(tmp_path):
    tr = _trained_run(tmp_path / "run")
    out = tmp_path / "models" / "uv.onnx"
    card = export(tmp_path / "run", out)
    assert card == json.loads(out.with_suffix(".json").read_text())
    assert card["format"] == "billow-model/1" and card["kind"] == "uv"
    assert card["halo"] == tr.G.halo and card["stride"] == 4 and card["classes"] == 25
    assert card["inputs"] == ["u", "v", "mask"] and card["export_parity_rel_error"] <= 1e-4
    assert card["training"]["generator_steps"] == 2 and card["training"]["wall_time_s"] >= 0
    assert card["evaluation"]["status"] == "pending"  # never invented figures
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    g = tr.G.eval()
    for h, w in ((16, 24), (36, 20)):
        x = torch.rand(2, 3, h, w)
        with torch.no_grad():
            ref = g(x)
        got = sess.run(["uv", "logits"], {"raw": x.numpy()})
        for a, b in zip(got, ref):
            assert a.shape == tuple(b.shape)
            assert np.abs(a - b.numpy()).max() <= 1e-4 * max(1.0, float(b.abs().max()))
    # the ONNX model and the run folder give the same frames
    uv, mask, _, _ = frame(2)
    a = UVModel.load(out).predict(uv, mask)
    b = UVModel.load(tmp_path / "run").predict(uv, mask)
    assert np.abs(a[0] - b[0]).max() < 1e-4 and np.mean(a[1] == b[1]) > 0.999


def test_card_of_another_kind_is_refused(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"x")
    (tmp_path / "m.json").write_text(json.dumps({"format": "billow-model/1", "scale": 4}))
    with pytest.raises(InputError, match="not a UV model"):
        load_uv_card(tmp_path / "m.onnx")
    (tmp_path / "n.onnx").write_bytes(b"x")
    with pytest.raises(InputError, match="card"):
        load_uv_card(tmp_path / "n.onnx")
    with pytest.raises(InputError):
        UVModel.load(tmp_path / "model.bin")


def _billow(*args):
    return subprocess.run([sys.executable, "-m", "billow", *map(str, args)],
                          check=False, capture_output=True, text=True, timeout=240)


def _write_clip(root, frames=5):
    for t in range(frames):
        ur, mr, ut, mt = frame(t)
        uvio.write_iuv(root / "raw" / f"f.{t:04d}.png", ur, mr)
        uvio.write_uv(root / "tgt" / f"f.{t:04d}.png", ut, mt)
        rgb = np.stack([ut[..., 0], ut[..., 1], np.full_like(ut[..., 0], 0.5)], -1)
        uvio.write_rgb(root / "rgb" / f"f.{t:04d}.png", rgb, mt)
    uvio.write_rgb(root / "tex.png", np.random.default_rng(0).random((48, 32, 3)))


@pytest.mark.slow
def test_train_export_infer_commands(tmp_path):
    _write_clip(tmp_path)
    common = ["--raw", tmp_path / "raw/f.####.png", "--target", tmp_path / "tgt/f.####.png",
              "--rgb", tmp_path / "rgb/f.####.png", "--texture", tmp_path / "tex.png"]
    small = ["--blocks", 1, "--width", 8, "--d-width", 8, "--batch", 2, "--margin", 4,
             "--tensorboard", "off", "--progress", "none"]
    r = _billow("uv", "train", *common, "--out", tmp_path / "run", "--dry-run", *small)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["data"]["frames"] == [0, 1, 2, 3, 4]
    r = _billow("uv", "train", *common, "--out", tmp_path / "run", "--variant", "v3",
                "--iterations", 2, "--pretrain", 1, "--d-img-steps", 1, *small)
    assert r.returncode == 0, r.stderr
    r = _billow("uv", "train", *common, "--out", tmp_path / "run", *small)
    assert r.returncode == 2 and "--resume" in r.stderr  # never overwrites a run
    r = _billow("uv", "train", "--out", tmp_path / "run", "--resume", "--iterations", 3,
                "--progress", "none")
    assert r.returncode == 0, r.stderr
    r = _billow("uv", "export", tmp_path / "run", "--out", tmp_path / "m.onnx")
    assert r.returncode == 0, r.stderr and "parity" in r.stdout
    r = _billow("uv", "infer", "--raw", tmp_path / "raw/f.####.png", "--model",
                tmp_path / "m.onnx", "--out", tmp_path / "out/f.####.png", "--frames", "1-3",
                "--progress", "json")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [e["frame"] for e in events if e["event"] == "frame"] == [1, 2, 3]
    uv, mask = uvio.read_uv(tmp_path / "out/f.0002.png")
    want_uv, want_mask, _ = UVModel.load(tmp_path / "m.onnx").predict(
        *uvio.read_uv(tmp_path / "raw/f.0002.png"))
    assert uv.shape == (48, 48, 2) and np.array_equal(mask, want_mask)
    assert np.abs(uv - want_uv).max() <= 1.0 / 65535 + 1e-6  # 16-bit PNG quantisation
    # bad input: one line, exit 2, nothing written
    r = _billow("uv", "infer", "--raw", tmp_path / "raw/f.####.png", "--model",
                tmp_path / "m.onnx", "--out", tmp_path / "bad/f.####.png", "--frames", "3-9")
    assert r.returncode == 2 and "missing frames 5-9" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
    r = _billow("uv", "infer", "--raw", tmp_path / "raw/f.####.png", "--model",
                tmp_path / "nope.onnx", "--out", tmp_path / "bad/f.####.png")
    assert r.returncode == 2 and "nope.onnx" in r.stderr


def test_command_help_matches_the_group_summary():
    import argparse
    import importlib

    from billow.commands.uv import UV_COMMANDS

    for name in ("train", "infer", "export"):
        module = importlib.import_module(f"billow.commands.uv.{name}")
        sub = argparse.ArgumentParser().add_subparsers()
        module.add_parser(sub)
        assert sub._choices_actions[0].help == UV_COMMANDS[name]
        assert sub.choices[name].description
