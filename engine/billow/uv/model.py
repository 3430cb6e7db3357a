"""A trained temporal UV generator at inference time (Sec. 5.2.4, "Model inference"), and its
ONNX export with a model card.

`UVModel.load(path)` takes an exported `NAME.onnx` (run by ONNX Runtime; its card `NAME.json`
beside it) or a training run folder / checkpoint (run by torch). `predict(uv, mask)` maps one
raw frame (global UVs + mask, as `billow.uv.io.read_uv` returns them) to full-silhouette UVs,
a mask and the part of each pixel.

Seam-free tiling (DESIGN.md): a frame is padded with `halo` background pixels (halo >= the
generator's receptive radius, a multiple of its stride) and its size rounded up to the stride;
tiles of `tile` pixels carry the halo on every side and start on multiples of the stride, so
each core pixel sees exactly the inputs it sees in a whole-frame run: tiled output equals the
whole-frame output to float tolerance.

Model card ("billow-model/1", the project's card format, `"kind": "uv"`): inputs, outputs,
halo and stride, the atlas convention, training data and schedule, wall time, hardware, and the
evaluation figures (left "pending" unless given; never made up).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..errors import InputError, MissingDependencyError
from ..io.model_card import FORMAT as CARD_FORMAT
from ..io.model_card import read_card
from ..io.atomic import atomic_path
from ..run import onnx
from . import nets

KIND = "uv"
INPUT, OUTPUTS = "raw", ("uv", "logits")


def raw_input(uv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(u, v, mask) `(3, H, W)` float32, u and v zero outside the mask."""
    m = np.asarray(mask, dtype=np.float32)
    return np.concatenate([np.moveaxis(np.asarray(uv, np.float32), -1, 0) * m, m[None]], 0)


class UVModel:
    def __init__(self, run, classes: int, halo: int, stride: int, card: dict):
        self._run = run  # (1, 3, h, w) float32 numpy -> (uv (1, 2, h, w), logits (1, K, h, w))
        self.classes, self.halo, self.stride, self.card = classes, halo, stride, card

    # -------------------------------------------------------------------- loading
    @classmethod
    def load(cls, path, threads: int = 1, device: str = "cpu") -> UVModel:
        """`device` ("cpu" or "cuda") picks the ONNX Runtime provider of an .onnx model."""
        path = Path(path)
        if path.suffix == ".onnx":
            return cls._load_onnx(path, threads, device)
        if path.is_dir() or path.suffix == ".pt":
            from .training import generator_from_checkpoint

            g, ckpt = generator_from_checkpoint(path)
            return cls.from_generator(g, {"kind": KIND, "source": str(path),
                                          "net": ckpt["net"]})
        raise InputError(f"{path}: a UV model is an exported .onnx file (card beside it) or a "
                         "training run folder / checkpoint.pt")

    @classmethod
    def from_generator(cls, g: nets.UVGenerator, card: dict | None = None) -> UVModel:
        g = g.eval()

        def run(x):
            with torch.no_grad():
                uv, logits = g(torch.from_numpy(x))
            return uv.numpy(), logits.numpy()

        return cls(run, g.cfg.classes, g.halo, g.cfg.stride, card or {"kind": KIND})

    @classmethod
    def _load_onnx(cls, path: Path, threads: int, device: str) -> UVModel:
        card = load_uv_card(path)
        sess = onnx.session(path, device, max(threads, 0))

        def run(x):
            uv, logits = sess.run(list(OUTPUTS), {INPUT: x})
            return uv, logits

        return cls(run, int(card["classes"]), int(card["halo"]), int(card["stride"]), card)

    # -------------------------------------------------------------------- inference
    def predict_raw(self, x: np.ndarray, tile: int | None = None):
        """(3, H, W) input -> (uv (2, H, W), logits (K, H, W)), whole or in tiles of `tile`
        (`billow.ops.tiling`: each with `halo` pixels of neighbours, zeros beyond the frame,
        so tiled equals whole). The frame is zero-extended to a multiple of the tile size
        (whole: of the stride)."""
        from ..ops.tiling import grid_tiles, run_tiles

        _, h, w = x.shape
        if tile is not None and (tile < self.stride or tile % self.stride):
            raise InputError(f"--tile {tile}: must be a positive multiple of {self.stride}")
        st = tile if tile and (h > tile or w > tile) else self.stride
        core = (-(-h // st) * st, -(-w // st) * st)
        tiles = grid_tiles(core, core if st == self.stride else st)  # whole: one tile
        p = np.zeros((3, *core), np.float32)
        p[:, :h, :w] = x
        uv = np.zeros((2, *core), np.float32)
        logits = np.zeros((self.classes, *core), np.float32)
        for t, (u, lg) in run_tiles(p, self._run, scale=1, halo=self.halo,
                                    tiles=tiles):
            window = (slice(None),) + tuple(slice(lo, hi) for lo, hi in zip(t.lo, t.hi))
            uv[window], logits[window] = u, lg
        return uv[:, :h, :w], logits[:, :h, :w]

    def predict(self, uv: np.ndarray, mask: np.ndarray, tile: int | None = None):
        """One raw frame (uv [H, W, 2], mask [H, W]) -> (uv [H, W, 2] float32, mask [H, W]
        bool, part [H, W] int64: 0 background, else the class of the pixel)."""
        out, logits = self.predict_raw(raw_input(uv, mask), tile)
        part = logits.argmax(0)
        fg = part != 0
        uv_out = np.moveaxis(out, 0, -1) * fg[..., None]
        return uv_out.astype(np.float32), fg, part


# ------------------------------------------------------------------------ export and cards
def export_onnx(g: nets.UVGenerator, path) -> None:
    size = 4 * g.cfg.stride
    x = torch.rand(1, 3, size, size)
    axes = {0: "batch", 2: "height", 3: "width"}
    onnx.export(g.eval(), path, (x,), [INPUT], list(OUTPUTS),
                {INPUT: axes, "uv": axes, "logits": axes})


def parity(g: nets.UVGenerator, path, size: tuple[int, int] = (40, 56), seed: int = 0) -> float:
    """Max |torch - onnxruntime| over both outputs, relative to their max |torch|, on a random
    raw frame (a disc of valid UVs) of `size` pixels (multiples of the stride)."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    mask = np.hypot(yy - h / 2, xx - w / 2) < min(h, w) / 3
    x = raw_input(rng.random((h, w, 2)).astype(np.float32), mask)[None]
    return onnx.parity(g.eval(), path, {INPUT: x}, list(OUTPUTS))


def model_card(g: nets.UVGenerator, ckpt: dict, onnx_path: Path, run: Path,
               evaluation: dict | None) -> dict:
    t = ckpt["train"]
    data = ckpt.get("data", {})
    return {
        "format": CARD_FORMAT,
        "kind": KIND,
        "name": onnx_path.stem,
        "file": onnx_path.name,
        "dim": 2,
        "scale": 1,
        "halo": g.halo,
        "stride": g.cfg.stride,
        "classes": g.cfg.classes,
        "inputs": ["u", "v", "mask"],
        "outputs": {"uv": ["u", "v"], "logits": "class 0 background, 1..24 DensePose parts"
                    if g.cfg.classes == 25 else "class 0 background, 1 foreground"},
        "normalisation": {"u": 1.0, "v": 1.0, "mask": 1.0},
        "uv_convention": "global atlas UVs in [0, 1] (billow.uv.atlas: 6x4 DensePose tiles, v "
                         "up, texel centres at u = (x + 0.5) / W, v = 1 - (y + 0.5) / H)",
        "io": {
            "input": {"name": INPUT, "dtype": "float32", "shape": ["N", 3, "H", "W"],
                      "channels": "u, v (zero outside the mask), mask (0 or 1)"},
            "outputs": [
                {"name": "uv", "dtype": "float32", "shape": ["N", 2, "H", "W"],
                 "range": [0.0, 1.0]},
                {"name": "logits", "dtype": "float32",
                 "shape": ["N", g.cfg.classes, "H", "W"],
                 "use": "mask = argmax != 0 (the output silhouette)"}],
            "size": f"H and W multiples of {g.cfg.stride}",
            "halo_units": "pixels of background padding / tile overlap on each side",
            "image_order": "row 0 is the top of the frame",
        },
        "architecture": {"generator": "resnet (Fig. C.1)",
                         "parameters": nets.count_parameters(g),
                         "receptive_radius": g.receptive_radius,
                         "net": dataclasses.asdict(g.cfg)},
        "billow_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "training": {
            "data": data,
            "variant": t["variant"],
            "generator_steps": int(ckpt["step_g"]),
            "d_img_steps": int(ckpt["step_d_img"]),
            "iterations_planned": t["iterations"],
            "wall_time_s": round(float(ckpt["wall_time"]), 1),
            "hardware": ckpt.get("hardware"),
            "config": t,
        },
        "evaluation": evaluation or {"status": "pending",
                                     "note": "fill with benchmarks/uv_ablation.py"},
    }


def load_uv_card(model_path) -> dict:
    path = Path(model_path).with_suffix(".json")
    card = read_card(model_path, KIND)
    missing = [k for k in ("classes", "halo", "stride") if k not in card]
    if missing:
        raise InputError(f"{path}: model card lacks {', '.join(missing)}")
    return card


def export(run, out, evaluation=None, extra: dict | None = None) -> dict:
    """RUN (folder or checkpoint) -> OUT.onnx + OUT.json; raises if ONNX Runtime disagrees."""
    from .training import generator_from_checkpoint

    run, out = Path(run), Path(out)
    if out.suffix != ".onnx":
        raise InputError(f"{out}: the model file must end in .onnx")
    g, ckpt = generator_from_checkpoint(run)
    ev = None
    if evaluation is not None:
        try:
            ev = json.loads(Path(evaluation).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"{evaluation}: unreadable evaluation report ({e})") from e
    export_onnx(g, out)
    err = onnx.check_parity(parity(g, out), out)
    card = model_card(g, ckpt, out, run, ev)
    card["export_parity_rel_error"] = err
    card.update(extra or {})
    with atomic_path(out.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(card, indent=1) + "\n")
    return card
