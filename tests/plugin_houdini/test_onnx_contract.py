"""billow's ONNX model contract, as the ONNX Inference SOP sees it (ONNX Runtime, toy model)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from .conftest import load_onnx_for_sop


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_model_contract_dynamic_ncxyz_with_4x_output(toy_model):
    card = json.loads(toy_model.with_suffix(".json").read_text())
    assert card["inputs"] == ["density", "vel.x", "vel.y", "vel.z"] and card["scale"] == 4
    model = onnx.load(str(toy_model))
    (x,), (y,) = model.graph.input, model.graph.output
    dims = _dims(x)
    assert len(dims) == 5 and dims[1] == 4  # (N, C, X, Y, Z): C fixed, the rest dynamic
    assert all(isinstance(d, str) for d in (dims[0], *dims[2:]))
    assert len(_dims(y)) == 5
    sess = ort.InferenceSession(str(toy_model), providers=["CPUExecutionProvider"])
    for shape in ((1, 4, 5, 7, 9), (2, 4, 6, 3, 4)):  # any sizes, any batch, anisotropic
        out = sess.run(None, {x.name: np.zeros(shape, np.float32)})[0]
        assert out.shape == (shape[0], 1, 4 * shape[2], 4 * shape[3], 4 * shape[4])


def test_axes_are_x_y_z_not_swapped(toy_model):
    """A blob off-centre along x stays off-centre along x in the output (X first)."""
    sess = ort.InferenceSession(str(toy_model), providers=["CPUExecutionProvider"])
    x = np.zeros((1, 4, 12, 6, 6), np.float32)
    x[0, 0, 2, 3, 3] = 1.0
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0][0, 0]
    peak = np.unravel_index(np.argmax(out), out.shape)
    assert out.shape == (48, 24, 24) and peak[0] // 4 == 2 and peak[1] // 4 == 3


@pytest.mark.parametrize("layout", ["xyz", "zyx"])
def test_sop_model_is_static_and_equals_the_original(toy_model, tmp_path, layout):
    sop = load_onnx_for_sop()
    out = tmp_path / f"toy_{layout}.onnx"
    info = sop.wrap(toy_model, out, (6, 5, 4), layout, voxel_size=0.1, fps=24.0)
    spatial = [6, 5, 4] if layout == "xyz" else [4, 5, 6]
    assert info["input_shape"] == [1, 4, *spatial]
    assert info["output_shape"] == [1, 1, *(4 * s for s in spatial)]
    assert info["output_resolution_xyz"] == [24, 20, 16]
    assert _dims(onnx.load(str(out)).graph.input[0]) == info["input_shape"]
    assert sop.check(toy_model, out, (6, 5, 4), layout, 0.1, 24.0) < 1e-5
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    with pytest.raises(Exception):  # a fixed shape: a wrong resolution is refused, not reshaped
        sess.run(None, {"sop_in": np.zeros((1, 4, 7, 5, 4), np.float32)})


def test_channel_scales_convert_world_velocity(toy_model):
    sop = load_onnx_for_sop()
    card = json.loads(toy_model.with_suffix(".json").read_text())
    # 2.4 world units/s with 0.1 voxels at 24 fps is 1 cell per frame
    assert sop.channel_scales(card, 0.1, 24.0) * np.array([1, 2.4, 2.4, 2.4]) == \
        pytest.approx([1, 1, 1, 1])
    assert list(sop.channel_scales(card, None, None)) == [1, 1, 1, 1]


def test_the_detail_channel_is_a_plain_factor_not_a_velocity(toy_model):
    """A gated model's `detail` input (the slider) is passed through as the volume the SOP
    is given: neither normalised nor converted from world units like the velocity."""
    sop = load_onnx_for_sop()
    card = json.loads(toy_model.with_suffix(".json").read_text())
    card = dict(card, inputs=card["inputs"] + ["detail"], normalisation={"velocity": 0.5})
    assert list(sop.channel_scales(card, 0.1, 24.0)) == pytest.approx(
        [1, 0.5 / 2.4, 0.5 / 2.4, 0.5 / 2.4, 1])


def test_script_command_line(toy_model, tmp_path, capsys):
    sop = load_onnx_for_sop()
    assert sop.main([str(toy_model), str(tmp_path / "m.onnx"), "--shape", "4", "4", "4",
                     "--layout", "zyx", "--check"]) == 0
    text = capsys.readouterr().out
    assert '"input_volume_order": "ZYX"' in text and "max difference" in text


@pytest.mark.parametrize("layout, axis", [("xyz", 0), ("zyx", 2)])
def test_order_probe_reports_the_first_tensor_axis(tmp_path, layout, axis):
    """What the probe shows in Houdini: with Volume Order XYZ the SOP's tensor is (1, 1, X, Y, Z)
    and the probe's output, read back the same way, is the x index of every voxel."""
    sop = load_onnx_for_sop()
    shape = (5, 4, 3)
    sop.probe(tmp_path / "probe.onnx", shape, layout)
    sess = ort.InferenceSession(str(tmp_path / "probe.onnx"), providers=["CPUExecutionProvider"])
    spatial = shape if layout == "xyz" else shape[::-1]
    out = sess.run(None, {"sop_in": np.ones((1, 1, *spatial), np.float32)})[0][0, 0]
    volume = out if layout == "xyz" else out.transpose(2, 1, 0)  # back to [x, y, z]
    index = np.indices(shape)[axis].astype(np.float32)
    assert np.array_equal(volume, index)
