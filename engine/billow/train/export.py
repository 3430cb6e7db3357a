"""ONNX export of a trained generator and its model card (DESIGN.md "Models").

Writes NAME.onnx, NAME.json (the card, format "billow-model/1", owned by `billow.io.model_card`),
NAME.pt (the generator's weights, for the torch backend; loaded with weights_only=True) and, for
a generator with a core-only pass, NAME.core.onnx (that pass as its own graph, named in the card's
`core_onnx` with its SHA-256: `billow upres` loads it instead of exporting it from the weights on
every run, which cost 3-6 s per run on a 2-core CPU, session 19).

Contract: input `(N, C, X, Y[, Z])` float32 named "input" with dynamic batch and spatial axes
(C = density + low-res velocity in low-res cells/frame, raw: any scaling and derived channels
are inside the graph); output `(N, 1, 4X, 4Y[, 4Z])` named "density". The card beside the
.onnx says how to feed it, its halo for seam-free tiling, where it came from, and the
evaluation figures -- left "pending" until `billow eval` fills them (never made up).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import torch

from .._version import __version__
from ..errors import InputError
from ..io.atomic import atomic_path
from ..io.model_card import FORMAT as CARD_FORMAT
from ..nets import FACTOR, build_generator, count_parameters
from ..run import onnx
from ..run.folder import hardware
from .config import RunConfig
from .trainer import load_checkpoint


def load_generator(run: str | Path, weights: str = "ema"):
    """(generator in eval mode, RunConfig, checkpoint dict) from a run folder or checkpoint.
    `weights`: "ema" takes the run's weight average where it kept one (`--ema`), else G's
    weights; "raw" always G's."""
    if weights not in ("ema", "raw"):
        raise ValueError(f"weights must be 'ema' or 'raw', not {weights!r}")
    ckpt = load_checkpoint(run)
    cfg = RunConfig.from_dict(ckpt["config"])
    g = build_generator(cfg.model)
    use_ema = weights == "ema" and "ema" in ckpt
    g.load_state_dict(ckpt["ema"]["G"] if use_ema else ckpt["models"]["G"])
    ckpt["weights_used"] = (f"weight average (decay {ckpt['ema']['decay']})" if use_ema
                            else "generator")
    return g.eval(), cfg, ckpt


def export_onnx(g: torch.nn.Module, path: str | Path, dim: int, channels: int) -> None:
    x = torch.rand(1, channels, *([6] * dim))
    axes = {0: "batch", 2: "x", 3: "y"} | ({4: "z"} if dim == 3 else {})
    out_axes = {0: "batch", 2: "x4", 3: "y4"} | ({4: "z4"} if dim == 3 else {})
    onnx.export(g, path, (x,), ["input"], ["density"], {"input": axes, "density": out_axes})


def parity(g: torch.nn.Module, path: str | Path, dim: int, channels: int,
           size: int = 7, seed: int = 0) -> float:
    """Max |torch - onnxruntime| / max |torch| on a random input of `size`^D cells."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(1, channels, *([size] * dim), generator=gen)
    x[:, 1:] = x[:, 1:] * 2 - 1
    return onnx.parity(g, path, {"input": x.numpy()})


def export_core_graph(g: torch.nn.Module, out: Path, halo: int, dim: int,
                      channels: int) -> dict | None:
    """NAME.core.onnx beside `out`: the generator's core-only pass for windows with `halo` cells
    of neighbours (`billow.nets.valid.CoreOnly`), or None for a generator without one. It must
    reproduce the middle of the full graph's output on the same window (the padded tile's
    core, which is what it replaces) within the export tolerance, or the export is refused.
    Returns the card's `core_onnx` entry."""
    from ..nets.valid import CoreOnly

    if not hasattr(g, "forward_core"):
        return None
    path = out.with_name(out.stem + ".core.onnx")
    full = onnx.session(out)
    _, err = onnx.export_core(CoreOnly(g, halo).eval(), path, halo, FACTOR,
                              lambda x: full.run(None, {"input": x})[0], channels, dim)
    return {"file": path.name, "sha256": onnx.file_sha256(path), "halo": halo,
            "parity_rel_error": onnx.check_parity(err, path)}


def model_card(g, cfg: RunConfig, ckpt: dict, onnx_path: Path, run: Path,
               evaluation: dict | None, torch_weights: str | None = None) -> dict:
    """The card in the format `billow.io.model_card.load_card` reads ("billow-model/1"), plus where
    the model came from."""
    m = cfg.model
    split = {}
    split_file = (run if run.is_dir() else run.parent) / "split.json"
    if split_file.is_file():
        split = json.loads(split_file.read_text())
    data = split.get("data", {})
    card = {
        "format": CARD_FORMAT,
        "name": onnx_path.stem,
        "file": onnx_path.name,
        "dim": m.dim,
        "scale": FACTOR,
        "halo": g.receptive_radius,
        "inputs": m.channel_names,
        # what the host multiplies the channels by: nothing; the model scales velocity by
        # model.velocity_scale and derives vorticity itself
        "normalisation": {"density": 1.0, "velocity": 1.0},
        # "frame": the host divides density and velocity by whole-frame statistics and
        # multiplies the output back (billow.ops.normalise); an allowed value, never code
        "normalise": m.normalise,
        "output_scale": 1.0,
        "up_axis": "y",
        "velocity_units": "low-res cells per frame",
        "io": {
            "input": {"name": "input", "dtype": "float32",
                      "shape": ["N", len(m.channel_names)] + ["X", "Y", "Z"][: m.dim]},
            "output": {"name": "density", "dtype": "float32",
                       "shape": ["N", 1] + [f"{FACTOR}{a}" for a in ["X", "Y", "Z"][: m.dim]]},
            "halo_units": "low-res input cells on each side of a tile",
            "alignment": "output voxel i lies inside input cell i // 4 (cell-centred, no "
                         "half-voxel shift)",
            "inside_the_model": f"velocity x {m.velocity_scale}"
                                + (", vorticity derived from velocity" if m.use_vorticity
                                   else "")
                                + ("; detail: the art-direction factor (1 as trained, 0 no "
                                   "invented detail) on the speed the detail gate reads"
                                   if m.slider_input else ""),
        },
        "architecture": {"generator": m.generator, "parameters": count_parameters(g),
                         "model": cfg.to_dict()["model"]},
        "billow_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "training": {
            "data": data.get("path"),
            "data_format": data.get("format"),
            "lr_res": data.get("lr_res"),
            "train_sims": ckpt.get("train_ids"),
            "validation_sims": ckpt.get("val_ids"),
            "iterations": int(ckpt["iteration"]),
            "weights": ckpt.get("weights_used", "generator"),
            "iterations_planned": cfg.train.iterations,
            "wall_time_s": round(float(ckpt["wall_time"]), 1),
            "hardware": ckpt.get("hardware") or hardware(),
            "temporal": cfg.train.temporal,
            "config": cfg.to_dict()["train"],
            "augment": cfg.to_dict()["augment"],
            "run": str(run.resolve()),
        },
        "evaluation": evaluation or {"status": "pending",
                                     "note": "fill with `billow eval` on held-out simulations"},
    }
    if torch_weights:
        card["torch"] = {"module": "billow.nets.generators:generator_from_kwargs",
                         "kwargs": cfg.to_dict()["model"], "weights": torch_weights}
    return card


def export(run: str | Path, out: str | Path, evaluation: str | Path | None = None,
           weights: str = "ema") -> dict:
    run, out = Path(run), Path(out)
    if out.suffix != ".onnx":
        raise InputError(f"{out}: the model file must end in .onnx")
    g, cfg, ckpt = load_generator(run, weights)
    ev = None
    if evaluation is not None:
        try:
            ev = json.loads(Path(evaluation).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"{evaluation}: unreadable evaluation report ({e})") from e
    channels = cfg.model.in_channels
    export_onnx(g, out, cfg.model.dim, channels)
    err = onnx.check_parity(parity(g, out, cfg.model.dim, channels), out)
    weights = out.with_suffix(".pt")  # for the torch backend (GPU half precision)
    with atomic_path(weights) as tmp:
        torch.save(g.state_dict(), tmp)
    card = model_card(g, cfg, ckpt, out, run, ev, weights.name)
    card["export_parity_rel_error"] = err
    core = export_core_graph(g, out, card["halo"], cfg.model.dim, channels)
    if core is not None:
        card["core_onnx"] = core
    with atomic_path(out.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(card, indent=2) + "\n")
    return card
