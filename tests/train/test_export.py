"""ONNX export: dynamic spatial axes, torch vs ONNX Runtime parity, the model card."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from billow.train import Trainer
from billow.train.export import export, load_generator

from .test_trainer import tiny


@pytest.mark.parametrize("dim, kind", [(2, "fast"), (3, "fast"), (2, "paper"),
                                       (3, "smooth-gated"), (3, "smooth-gated-gain"),
                                       (3, "smooth-gated-gain-smoothbase"),
                                       (3, "smooth-gated-gain-smoothbase-smoothtail"),
                                       (3, "smooth-gated-gain-smoothbase-smoothtail-notch")])
def test_export_parity_and_card(tmp_path, data2d, data3d, dim, kind):
    """Gated models also take the slider: their ONNX input has a `detail` channel."""
    data = data2d if dim == 2 else data3d
    gated = {"detail_gate": "speed", "fine_channels": 4} if "gated" in kind else {}
    if "gain" in kind:  # no clamp: multiplicative residual and projection
        gated.update(output_form="gain", projection="block", projection_steps=2)
    if "smoothbase" in kind:
        gated.update(base_interpolation="smooth")
    if "smoothtail" in kind:
        gated.update(tail_upsampling="smooth")
    if kind.endswith("notch"):
        gated.update(lattice_notch=True)
    cfg = tiny(dim=dim, generator=kind.split("-")[0], iterations=1, tile=2 if dim == 3 else 4,
               context=1, batch=1, val_every=0, temporal="none",
               use_vorticity=(dim == 3 and not gated), **gated)
    channels = 1 + dim + (1 if gated else 0)
    Trainer(cfg, tmp_path / "run", data_path=data).train()
    out = tmp_path / "models" / "m.onnx"
    card = export(tmp_path / "run", out)
    assert card == json.loads(out.with_suffix(".json").read_text())
    g, _, _ = load_generator(tmp_path / "run")
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for size in [(5, 7, 6)[:dim], (9, 4, 3)[:dim]]:  # dynamic spatial axes
        x = torch.rand(2, channels, *size)
        x[:, 1: 1 + dim] -= 0.5
        x[:, 1 + dim:] *= 2  # the slider, 0 to 2
        with torch.no_grad():
            ref = g(x).numpy()
        got = sess.run(None, {"input": x.numpy()})[0]
        assert got.shape == (2, 1, *(4 * s for s in size))
        assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()
    assert card["scale"] == 4 and card["up_axis"] == "y"
    assert card["halo"] == g.receptive_radius
    assert card["inputs"] == (["density"] + [f"vel.{a}" for a in "xyz"[:dim]]
                              + (["detail"] if gated else []))
    assert card["io"]["input"]["shape"][1] == channels
    # the inference side reads this card and can rebuild the torch module from it
    from billow.infer.backends import torch_module_from_card
    from billow.io.model_card import load_card

    loaded = load_card(out)
    assert loaded.halo == card["halo"] and loaded.scale == 4 and loaded.dim == dim
    net = torch_module_from_card(loaded).eval()
    x = torch.rand(1, channels, *([5] * dim))
    with torch.no_grad():
        assert torch.equal(net(x), g(x))
    assert card["training"]["iterations"] == 1 and card["training"]["wall_time_s"] >= 0
    assert card["training"]["train_sims"] and card["training"]["hardware"]
    assert card["evaluation"]["status"] == "pending"  # never invented figures
    # the core-only graph ships beside the model: the bytes the card names, and on any window
    # the middle of the full graph's output
    core = card.get("core_onnx")
    assert (core is not None) == hasattr(g, "forward_core")
    if core:
        path = out.with_name(core["file"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == core["sha256"]
        h, c = card["halo"], 3
        x = torch.rand(1, channels, *([2 * h + c] * dim)).numpy()
        full = sess.run(None, {"input": x})[0]
        mid = (slice(None),) * 2 + (slice(4 * h, 4 * (h + c)),) * dim
        got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
            None, {"input": x})[0]
        assert got.shape == full[mid].shape
        assert np.abs(got - full[mid]).max() <= 1e-5 * np.abs(full[mid]).max()


def test_reexport_gives_an_older_gated_card_the_detail_channel(tmp_path, data3d):
    """tools/reexport.py: a gated model exported before the slider was its own channel (a card
    with four inputs) comes back with `detail`, the same weights byte for byte, the source
    card's statements about them kept, and an ONNX file that equals the torch network."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "reexport", Path(__file__).resolve().parents[2] / "tools" / "reexport.py")
    reexport = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reexport)

    cfg = tiny(dim=3, generator="smooth", detail_gate="speed", fine_channels=4, iterations=1,
               tile=2, context=1, batch=1, val_every=0, temporal="none")
    Trainer(cfg, tmp_path / "run", data_path=data3d).train()
    old = tmp_path / "old" / "m.onnx"
    export(tmp_path / "run", old)
    card = json.loads(old.with_suffix(".json").read_text())
    card.update(inputs=card["inputs"][:4], status="preview", evaluation={"mean": {"x": 1}})
    old.with_suffix(".json").write_text(json.dumps(card))
    weights = old.with_suffix(".pt").read_bytes()
    assert reexport.main([str(old.with_suffix(".json")), "--out", str(old)]) == 0  # in place
    new = json.loads(old.with_suffix(".json").read_text())
    assert new["inputs"][-1] == "detail" and new["io"]["input"]["shape"][1] == 5
    assert new["status"] == "preview" and new["evaluation"] == {"mean": {"x": 1}}
    assert new["training"] == card["training"]
    assert old.with_suffix(".pt").read_bytes() == weights
    g, _, _ = load_generator(tmp_path / "run")
    x = torch.rand(1, 5, 5, 6, 7)
    sess = ort.InferenceSession(str(old), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = g(x).numpy()
    assert np.abs(sess.run(None, {"input": x.numpy()})[0] - ref).max() <= 1e-4 * np.abs(ref).max()


def test_reexport_switches_the_lattice_notch_on(tmp_path, data3d):
    """tools/reexport.py --lattice-notch: the same weights with the notch after them; the
    source card's evaluation no longer applies to that output, so it is not carried over; a
    model without the gain form and projection is refused in one line."""
    import importlib.util
    from pathlib import Path

    from billow.infer.backends import torch_module_from_card
    from billow.io.model_card import load_card

    spec = importlib.util.spec_from_file_location(
        "reexport", Path(__file__).resolve().parents[2] / "tools" / "reexport.py")
    reexport = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reexport)
    for form, projection in (("gain", "block"), ("clamp", "none")):
        cfg = tiny(dim=3, generator="smooth", detail_gate="speed", fine_channels=4,
                   iterations=1, tile=2, context=1, batch=1, val_every=0, temporal="none",
                   output_form=form, projection=projection)
        run = tmp_path / form
        Trainer(cfg, run, data_path=data3d).train()
        src = tmp_path / f"{form}_src" / "m.onnx"
        export(run, src)
        card = json.loads(src.with_suffix(".json").read_text())
        card.update(status="preview", evaluation={"mean": {"x": 1}})
        src.with_suffix(".json").write_text(json.dumps(card))
        out = tmp_path / f"{form}_notch" / "m.onnx"
        out.parent.mkdir()
        code = reexport.main([str(src.with_suffix(".json")), "--lattice-notch", "--out",
                              str(out)])
        if form == "clamp":
            assert code == 2 and not out.exists()
            continue
        assert code == 0
        new = json.loads(out.with_suffix(".json").read_text())
        assert new["architecture"]["model"]["lattice_notch"] is True
        assert new["halo"] == card["halo"] + 2
        assert new["evaluation"]["status"] == "pending" and new["status"] == "preview"
        assert out.with_suffix(".pt").read_bytes() == src.with_suffix(".pt").read_bytes()
        x = torch.rand(1, 5, 6, 5, 7)
        x[:, 1:4] -= 0.5
        plain = torch_module_from_card(load_card(src)).eval()
        notched = torch_module_from_card(load_card(out)).eval()
        sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        with torch.no_grad():
            ref = notched(x).numpy()
            assert not np.allclose(ref, plain(x).numpy())  # the notch is in the output
        got = sess.run(None, {"input": x.numpy()})[0]
        assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()


def test_export_takes_the_weight_average_unless_told_otherwise(tmp_path, data2d):
    """`billow export` writes a --ema run's weight average (the card says which weights);
    `--raw-weights` the generator's last ones."""
    from billow.cli import main

    Trainer(tiny(iterations=2, val_every=0, ema=0.5), tmp_path / "run",
            data_path=data2d).train()
    for flags, expected in (([], "weight average (decay 0.5)"), (["--raw-weights"], "generator")):
        out = tmp_path / f"m{len(flags)}.onnx"
        assert main(["export", str(tmp_path / "run"), "--out", str(out), *flags]) == 0
        card = json.loads(out.with_suffix(".json").read_text())
        assert card["training"]["weights"] == expected
        g, _, _ = load_generator(tmp_path / "run", "raw" if flags else "ema")
        saved = torch.load(out.with_suffix(".pt"), weights_only=True)
        assert all(torch.equal(v, saved[k]) for k, v in g.state_dict().items())
    a = torch.load(tmp_path / "m0.pt", weights_only=True)
    b = torch.load(tmp_path / "m1.pt", weights_only=True)
    assert any(not torch.equal(a[k], b[k]) for k in a)
