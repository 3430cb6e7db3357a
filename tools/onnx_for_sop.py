"""Prepare a billow ONNX model for Houdini's native ONNX Inference SOP, and print its settings.

    python tools/onnx_for_sop.py engine/billow/models/smoke3d_x4.onnx smoke_sop.onnx \\
        --shape 64 96 64 [--layout zyx] [--voxel-size 0.05 --fps 24]

A development tool (tools/, not shipped): runs outside Houdini, in billow's Python from a
checkout (needs `onnx`; `onnxruntime` for --check). billow's
contract is an input `(N, C, X, Y, Z)` float32 with channels in the model card's order
(`density, vel.x, vel.y, vel.z`, and `detail` for models with a speed gate: the art-direction
factor, a volume of 1 for the model as trained, 0 for no invented detail, 2 for twice the
speed its detail follows), velocity in low-res cells per frame times the card's
normalisation, and an output `(N, 1, 4X, 4Y, 4Z)`. The SOP fills a flat buffer from Houdini
volumes and reshapes it to the shape typed in its parameters, so this script writes a model
with:

* a fixed input shape (`--shape X Y Z`, the low-res volume's resolution): the SOP cannot infer
  three dynamic spatial axes from a flat buffer;
* the tensor layout the SOP is set to (`--layout xyz`, the default: set the SOP's Volume Order
  to XYZ; `--layout zyx`: Houdini's native voxel order, Volume Order ZYX, and the script adds
  the transposes inside the model);
* the card's normalisation and output scale baked in, and with `--voxel-size`/`--fps` the
  conversion of Houdini's `vel` (world units per second) to cells per frame, so the SOP can be
  fed the Pyro fields as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from billow.errors import InputError
from billow.io.model_card import read_card

LAYOUTS = ("xyz", "zyx")
_PERM = [0, 1, 4, 3, 2]  # (N, C, Z, Y, X) <-> (N, C, X, Y, Z); its own inverse


def load_card(model: Path) -> dict:
    """The model's card, read by the card format's one reader (billow.io.model_card)."""
    try:
        return read_card(model, "smoke")
    except InputError as e:
        raise SystemExit(f"onnx_for_sop: {e}") from None


def channel_scales(card: dict, voxel_size: float | None, fps: float | None) -> np.ndarray:
    """Per-channel factors applied before the network: normalisation, and world/s -> cells per
    frame (v / voxel_size / fps) when the voxel size is given."""
    norm = card.get("normalisation", {})
    to_cells = 1.0 / (voxel_size * (fps or 24.0)) if voxel_size else 1.0
    scales = []
    for name in card["inputs"]:
        if name == "density":
            scales.append(float(norm.get("density", 1.0)))
        elif name == "detail":  # the art-direction factor: a plain number
            scales.append(1.0)
        else:
            scales.append(float(norm.get("velocity", 1.0)) * to_cells)
    return np.asarray(scales, np.float32)


def sop_settings(card: dict, shape, layout: str = "xyz", input_name: str = "sop_in",
                 output_name: str = "sop_out") -> dict:
    """What to type into the ONNX Inference SOP for a model written by `wrap`."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    x, y, z = (int(v) for v in shape)
    s = int(card.get("scale", 4))
    spatial = (x, y, z) if layout == "xyz" else (z, y, x)
    return {
        "input_name": input_name, "input_type": "volume",
        "input_shape": [1, len(card["inputs"]), *spatial],
        "input_volume_order": layout.upper(), "input_channel_first": True,
        "input_data": " ".join(card["inputs"]),
        "output_name": output_name, "output_type": "volume",
        "output_shape": [1, 1, *(s * v for v in spatial)],
        "output_volume_order": layout.upper(), "output_channel_first": True,
        "output_data": "density",
        "output_resolution_xyz": [s * x, s * y, s * z],
        "pad_cells": int(card.get("halo", 0)),
    }


def fixed_frame_scales(card: dict, frame_scales) -> dict:
    """A card with whole-frame normalisation (`"normalise": "frame"`) turned into fixed
    factors: the SOP runs the network on its own and cannot compute the statistics of a frame
    (billow.ops.normalise), so the shot's (s_d, s_v) must be given and are baked in."""
    if card.get("normalise", "none") != "frame":
        return card
    if not frame_scales:
        raise SystemExit("onnx_for_sop: this model normalises every frame by whole-frame "
                         "statistics, which the ONNX Inference SOP cannot compute; pass "
                         "--frame-scales S_D S_V (the billow_density_scale and "
                         "billow_speed_scale of a `billow upres` output of this shot) or use "
                         "the billow SOP")
    s_d, s_v = (float(v) for v in frame_scales)
    norm = dict(card.get("normalisation", {}))
    norm["density"] = float(norm.get("density", 1.0)) / s_d
    norm["velocity"] = float(norm.get("velocity", 1.0)) / s_v
    return {**card, "normalisation": norm,
            "output_scale": float(card.get("output_scale", 1.0)) * s_d, "normalise": "none"}


def wrap(model_path: Path, out_path: Path, shape=None, layout: str = "xyz",
         voxel_size: float | None = None, fps: float | None = None,
         frame_scales=None) -> dict:
    """Write the SOP-ready model; return its `sop_settings`."""
    card = fixed_frame_scales(load_card(model_path), frame_scales)
    model = onnx.load(str(model_path))
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise SystemExit("onnx_for_sop: expected one input and one output")
    inner_in, inner_out = graph.input[0].name, graph.output[0].name
    channels, scale = len(card["inputs"]), int(card.get("scale", 4))
    if shape is None:
        spatial_in = ["D0", "D1", "D2"]
        spatial_out = ["S0", "S1", "S2"]
    else:
        x, y, z = (int(v) for v in shape)
        spatial_in = [x, y, z] if layout == "xyz" else [z, y, x]
        spatial_out = [scale * v for v in spatial_in]

    pre, post, inits = [], [], []
    cur = "sop_in"
    if layout == "zyx":
        pre.append(helper.make_node("Transpose", [cur], ["sop_in_xyz"], perm=_PERM))
        cur = "sop_in_xyz"
    scales = channel_scales(card, voxel_size, fps).reshape(1, channels, 1, 1, 1)
    inits.append(numpy_helper.from_array(scales, "sop_channel_scale"))
    pre.append(helper.make_node("Mul", [cur, "sop_channel_scale"], [inner_in]))
    out_scale = np.asarray(float(card.get("output_scale", 1.0)), np.float32)
    inits.append(numpy_helper.from_array(out_scale, "sop_output_scale"))
    last = "sop_out" if layout == "xyz" else "sop_out_xyz"
    post.append(helper.make_node("Mul", [inner_out, "sop_output_scale"], [last]))
    if layout == "zyx":
        post.append(helper.make_node("Transpose", [last], ["sop_out"], perm=_PERM))

    new_graph = helper.make_graph(
        pre + list(graph.node) + post, f"{graph.name}_houdini_sop",
        [helper.make_tensor_value_info("sop_in", TensorProto.FLOAT, [1, channels, *spatial_in])],
        [helper.make_tensor_value_info("sop_out", TensorProto.FLOAT, [1, 1, *spatial_out])],
        initializer=list(graph.initializer) + inits)
    wrapped = helper.make_model(new_graph, opset_imports=list(model.opset_import),
                                producer_name="billow onnx_for_sop")
    wrapped.ir_version = model.ir_version
    onnx.checker.check_model(wrapped)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(wrapped, str(out_path))
    return sop_settings(card, shape or (0, 0, 0), layout)


def probe(out_path: Path, shape, layout: str = "xyz") -> None:
    """A model to check the SOP's voxel order in Houdini: it ignores its input's values and
    returns, in every voxel, that voxel's index along the tensor's first spatial axis. Run
    with the chosen Volume Order on a volume of resolution `shape` (X, Y, Z): the output
    density must equal `@ix` for `--layout xyz` (and `@iz` for `--layout zyx`)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    x, y, z = (int(v) for v in shape)
    spatial = [x, y, z] if layout == "xyz" else [z, y, x]
    ramp = np.broadcast_to(np.arange(spatial[0], dtype=np.float32)[:, None, None],
                           spatial)[None, None].copy()
    graph = helper.make_graph(
        [helper.make_node("Mul", ["sop_in", "zero"], ["ignored"]),
         helper.make_node("Add", ["ignored", "ramp"], ["sop_out"])],
        "billow_order_probe",
        [helper.make_tensor_value_info("sop_in", TensorProto.FLOAT, [1, 1, *spatial])],
        [helper.make_tensor_value_info("sop_out", TensorProto.FLOAT, [1, 1, *spatial])],
        initializer=[numpy_helper.from_array(np.zeros((), np.float32), "zero"),
                     numpy_helper.from_array(ramp, "ramp")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="billow onnx_for_sop probe")
    model.ir_version = 8
    onnx.checker.check_model(model)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out_path))


def check(model_path: Path, out_path: Path, shape, layout: str, voxel_size, fps,
          frame_scales=None) -> float:
    """Largest difference between the wrapped model and the original on random input;
    `shape` is (X, Y, Z) whatever the layout."""
    import onnxruntime as ort

    card = fixed_frame_scales(load_card(model_path), frame_scales)
    rng = np.random.default_rng(0)
    x = rng.random((1, len(card["inputs"]), *shape), dtype=np.float32)
    ref_sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    scaled = x * channel_scales(card, voxel_size, fps).reshape(1, -1, 1, 1, 1)
    ref = ref_sess.run(None, {ref_sess.get_inputs()[0].name: scaled})[0]
    ref = ref * float(card.get("output_scale", 1.0))
    sess = ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"])
    feed = x if layout == "xyz" else np.ascontiguousarray(x.transpose(_PERM))
    got = sess.run(None, {"sop_in": feed})[0]
    if layout == "zyx":
        got = got.transpose(_PERM)
    return float(np.abs(got - ref).max())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--shape", type=int, nargs=3, metavar=("X", "Y", "Z"),
                    help="low-res volume resolution (omit to keep dynamic axes)")
    ap.add_argument("--layout", choices=LAYOUTS, default="xyz",
                    help="tensor layout the SOP builds: xyz (Volume Order XYZ) or zyx")
    ap.add_argument("--voxel-size", type=float, default=None,
                    help="bake world/s -> cells/frame for vel with this voxel size")
    ap.add_argument("--fps", type=float, default=24.0)
    ap.add_argument("--frame-scales", type=float, nargs=2, metavar=("S_D", "S_V"),
                    help="for models with whole-frame normalisation: the shot's density and "
                    "speed scales to bake in (see `billow upres` output metadata)")
    ap.add_argument("--check", action="store_true",
                    help="compare with the original model in ONNX Runtime")
    ap.add_argument("--probe", type=Path, default=None,
                    help="also write a voxel-order probe model here (see `probe`)")
    args = ap.parse_args(argv)
    if args.probe:
        if not args.shape:
            raise SystemExit("onnx_for_sop: --probe needs --shape")
        probe(args.probe, args.shape, args.layout)
        print(f"onnx_for_sop: wrote the voxel-order probe {args.probe}: its output must equal "
              f"@{'ix' if args.layout == 'xyz' else 'iz'}")
    settings = wrap(args.model, args.out, args.shape, args.layout, args.voxel_size, args.fps,
                    args.frame_scales)
    print(f"onnx_for_sop: wrote {args.out}")
    print(json.dumps(settings, indent=1))
    if args.check:
        if not args.shape:
            raise SystemExit("onnx_for_sop: --check needs --shape")
        diff = check(args.model, args.out, args.shape, args.layout, args.voxel_size, args.fps,
                     args.frame_scales)
        print(f"onnx_for_sop: max difference from the original: {diff:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
