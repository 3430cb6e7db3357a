"""Upres tiles compute only their core (issue 20): with the shipped 3D model and ONNX Runtime
(the default backend) the output is bit for bit the padded path's, on a real frame, at block
edges and with odd tile shapes; the 2D model and torch agree to float32 rounding; bf16 is refused where the CPU
cannot do it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from billow.infer import UpresConfig, load_card, make_backend
from billow.infer import backends
from billow.infer.art import network_velocity
from billow.infer.models import default_model
from billow.infer.upres import input_scales, upres_blocks
from billow.io import ReadOptions, read_smoke_frame
from billow.ops.tiling import plan_tiles, run_tiles

SAMPLE = default_model().parents[1] / "samples" / "plume_32.vdb"


def _assemble(run, card, frame, tile: int) -> np.ndarray:
    dens, vel = frame.density, frame.velocity.data
    out = np.zeros(tuple(card.scale * n for n in dens.shape), np.float32)
    origin = np.array(dens.offset) * card.scale
    # the slider as trained (1), as `upres_frame` makes the network's velocity input
    net_vel = network_velocity(vel, np.ones(dens.shape, np.float32), card.slider_input)
    for block, offset in upres_blocks(dens, net_vel, run, card, UpresConfig(), tile,
                                      input_scales(dens.data, vel, card)):
        lo = np.array(offset) - origin
        out[tuple(slice(a, a + n) for a, n in zip(lo, block.shape))] = block
    return out


@pytest.fixture(scope="module")
def shipped():
    card = load_card(default_model())
    frame = read_smoke_frame(SAMPLE, ReadOptions())
    return card, frame, make_backend(card, threads=1)


def test_core_only_is_bit_identical_on_a_real_frame(shipped):
    card, frame, backend = shipped
    padded = lambda x: backend.run(x)  # a plain callable: the padded path, cut by the tiler
    assert backends.tile_runner(padded, card.halo, card.scale).__name__ == "core"
    assert backend.core(card.halo, card.scale) is not None and backend.core_note == ""
    # 32^3 box: 13-cell tiles are 11 + 11 + 10 (odd shapes, tiles at every block edge)
    got = _assemble(backend.run, card, frame, 13)
    assert got.sum() > 0.5 * frame.density.data.sum() * card.scale ** 3
    assert np.array_equal(got, _assemble(padded, card, frame, 13))
    # and the whole block as one padded window (what the tiler must reproduce)
    assert np.array_equal(got, _assemble(padded, card, frame, 64))


def test_core_only_2d_model_agrees_to_the_last_bit():
    """The 2D model (fast architecture): ONNX Runtime's NCHWc layout pass (its top
    optimisation level) blocks some 2D convolution sums differently when the padding goes, so
    a few voxels differ in the last bit (bit for bit at the lower levels); 2D models are not
    used by `billow upres`."""
    card = load_card(default_model().with_name("smoke2d_x4.onnx"))
    backend = make_backend(card, threads=1)
    rng = np.random.default_rng(4)
    x = rng.random((len(card.inputs), 37, 29), np.float32)
    x[1:] -= 0.5
    tiles = plan_tiles(x.shape[1:], 11)  # 10 + 9 + 9 + 9 by 10 + 10 + 9
    core = dict(run_tiles(x, backend.core(card.halo, card.scale), scale=card.scale,
                          halo=card.halo, tiles=tiles, cropped=True))
    padded = dict(run_tiles(x, backend.run, scale=card.scale, halo=card.halo, tiles=tiles))
    assert backend.core_note == "" and len(core) == len(tiles)
    for t in tiles:
        assert core[t].shape == (1,) + tuple(card.scale * n for n in t.shape)
        np.testing.assert_allclose(core[t], padded[t], rtol=1e-6,
                                   atol=1e-6 * float(np.abs(padded[t]).max()))


def test_torch_backend_core_only_agrees(shipped):
    card, frame, backend = shipped
    made = make_backend(card, "torch", threads=1)
    got = _assemble(made.run, card, frame, 13)
    want = _assemble(backend.run, card, frame, 13)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * float(want.max()))


def test_weights_that_are_not_the_onnx_files_are_not_used(tmp_path):
    """The core-only graph comes from the card's torch weights: if they are not the network
    in the card's ONNX file, tiles run padded (right, slower) and the backend says why."""
    src = default_model()
    for suffix in (".onnx", ".json", ".pt"):
        shutil.copy(src.with_suffix(suffix), tmp_path / src.with_suffix(suffix).name)
    state = torch.load(src.with_suffix(".pt"), weights_only=True)
    key = next(k for k in state if k.endswith("up2.weight"))
    state[key] = state[key] * 1.5
    torch.save(state, tmp_path / src.with_suffix(".pt").name)
    card = load_card(tmp_path / src.name)
    backend = make_backend(card, threads=1)
    run = backend.core(card.halo, card.scale)
    assert "do not reproduce its ONNX file" in backend.core_note
    x = np.random.default_rng(1).random((1, len(card.inputs)) + (2 * card.halo + 3,) * 3,
                                        np.float32)
    h = card.scale * card.halo
    assert np.array_equal(run(x), backend.run(x)[:, :, h:-h, h:-h, h:-h])


def _window(card, seed=2):
    x = np.random.default_rng(seed).random((1, len(card.inputs)) + (2 * card.halo + 3,) * 3,
                                           np.float32)
    x[:, 1:] -= 0.5
    return x


def _core_note(card) -> str:
    """Build the card's core-only runner; it must reproduce the padded tile's core exactly,
    whichever way it was made. Returns the backend's note on how."""
    backend = make_backend(card, threads=1)
    run = backend.core(card.halo, card.scale)
    x, h = _window(card), card.scale * card.halo
    assert np.array_equal(run(x), backend.run(x)[:, :, h:-h, h:-h, h:-h])
    return backend.core_note


def test_the_shipped_core_graph_is_loaded_not_rebuilt(monkeypatch):
    """The default model ships its core-only graph (`core_onnx` in the card): building the
    runner exports nothing from the torch weights (3-6 s per run before session 19)."""
    card = load_card(default_model())
    assert card.extra["core_onnx"]["file"] == "smoke3d_x4.core.onnx"

    def no_export(*args, **kwargs):
        raise AssertionError("the core-only graph was exported again")

    monkeypatch.setattr(backends.onnx, "export", no_export)
    assert _core_note(card) == ""


def test_a_core_graph_that_is_not_the_cards_is_rebuilt_from_the_weights(tmp_path):
    """A core graph whose bytes are not the ones the card names (a partial copy, an edit) is
    not run: the runner is rebuilt from the torch weights, checked, and says so."""
    src = default_model()
    for suffix in (".onnx", ".json", ".pt"):
        shutil.copy(src.with_suffix(suffix), tmp_path / src.with_suffix(suffix).name)
    # a valid ONNX file, the wrong graph: the full one under the core graph's name
    shutil.copy(src, tmp_path / "smoke3d_x4.core.onnx")
    assert "rebuilt from the torch weights" in _core_note(load_card(tmp_path / src.name))


@pytest.mark.parametrize("entry", [{"file": "../smoke3d_x4.core.onnx"},
                                   {"halo": 14}, "smoke3d_x4.core.onnx"])
def test_a_malformed_core_graph_entry_is_not_followed(tmp_path, entry):
    """The card names a file beside the model, for its own halo: a path out of the folder, a
    halo that is not the card's or an entry that is not an object is not followed."""
    import json

    src = default_model()
    for suffix in (".onnx", ".pt", ".core.onnx"):
        shutil.copy(src.with_name(src.stem + suffix), tmp_path / (src.stem + suffix))
    card = json.loads(src.with_suffix(".json").read_text())
    card["core_onnx"] = ({**card["core_onnx"], **entry} if isinstance(entry, dict) else entry)
    (tmp_path / src.with_suffix(".json").name).write_text(json.dumps(card))
    assert "malformed" in _core_note(load_card(tmp_path / src.name))


def test_bf16_on_cpu_needs_the_instructions(monkeypatch):
    card = load_card(default_model())
    monkeypatch.setattr(backends, "cpu_has_bf16", lambda: False)
    with pytest.raises(backends.InputError, match="bf16 instructions"):
        make_backend(card, "torch", precision="bf16")
    with pytest.raises(backends.InputError, match="fp16 needs --device cuda"):
        make_backend(card, "torch", precision="fp16")
    with pytest.raises(backends.InputError, match="--backend torch"):
        make_backend(card, "onnxruntime", precision="bf16")


@pytest.mark.skipif(not backends.cpu_has_bf16(), reason="this CPU has no bf16 instructions")
def test_bf16_on_cpu_stays_close_to_fp32(shipped):
    card, frame, backend = shipped
    made = make_backend(card, "torch", precision="bf16", threads=1)
    got = _assemble(made.run, card, frame, 16)
    want = _assemble(backend.run, card, frame, 16)
    assert not np.array_equal(got, want)  # it does run in bf16
    assert np.abs(got - want).mean() < 0.02 * want.mean()
    assert abs(got.sum() / want.sum() - 1) < 0.01
