"""Render the synthetic benchmark: drive Blender in a subprocess, write the benchmark's files.

Layout of `OUT_DIR` (frames numbered from 1):

    rgb/frame.####.png          RGBA 8-bit; alpha = the figure including the skirt
    uv_gt/frame.####.png        ground-truth global UVs, 16-bit (u, v, mask)
    iuv_raw/frame.####.png      DensePose-like raw IUV, 8-bit: body only (skirt pixels are
                                background), per-frame per-part jitter
    iuv_body/frame.####.png     the same from a render without the skirt: the legs a
                                DensePose model would guess under it (only with the body pass)
    garment/frame.####.png      8-bit mask of the skirt's pixels (for evaluation)
    texture.png                 the atlas texture the figure was rendered with
    meta.json                   what was rendered, and how

The RGB alpha is the ground-truth coverage mask (point-sampled at pixel centres, like the UVs),
so `read_rgb`'s mask and `read_uv`'s mask agree exactly; the colour is Blender's antialiased
render.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from billow.config import option
from billow.errors import InputError, MissingDependencyError, OutputError
from billow.io.atomic import atomic_path
from billow.progress import Progress
from billow.uv import atlas
from billow.uv import io as uvio

from . import blender_scene, figure
from .texture import make_texture

FILES = {"rgb": "rgb/frame.####.png", "uv_gt": "uv_gt/frame.####.png",
         "iuv_raw": "iuv_raw/frame.####.png", "iuv_body": "iuv_body/frame.####.png",
         "garment": "garment/frame.####.png"}

# Run in a fresh interpreter: `bpy` is imported there and only there. argv[2] is tools/, where
# this development tool lives (outside the billow package).
_CHILD = ("import sys, bpy\n"
          "sys.path.insert(0, sys.argv[2])\n"
          "from uv_synth import blender_scene\n"
          "blender_scene.main(bpy, sys.argv[1])\n")
TOOLS = str(Path(__file__).resolve().parents[1])


@dataclass(frozen=True)
class SynthConfig:
    """Settings of one synthetic benchmark render (saved into meta.json)."""

    size: int = option(256, "image width and height in pixels")
    frames: int = option(48, "number of frames, numbered from 1")
    motion: str = option("sway", "the figure's motion", choices=figure.MOTIONS)
    seed: int = option(0, "seed of the texture, the raw IUVs' jitter and Cycles' sampling")
    samples: int = option(16, "Cycles samples per pixel of the RGB frames (the UV renders "
                          "take one, at pixel centres)")
    filter_width: float = option(1.0, "pixel filter width of the RGB frames (Blackman-Harris; "
                                 "Cycles' default 1.5 blurs the texture ~3 dB further from "
                                 "a point lookup)")
    tile: int = option(128, "texels per side of an atlas tile; the texture is 6 x 4 tiles")
    detail: int = option(16, "mesh quads per half-turn and along each body part")
    threads: int = option(2, "Cycles render threads")
    body_pass: bool = option(True, "also render the figure without the skirt (iuv_body: the "
                             "legs a DensePose model would guess under it)")
    jitter_shift: float = option(0.02, "standard deviation of the raw IUVs' per-frame, "
                                 "per-part offset, in tiles")
    jitter_scale: float = option(0.04, "standard deviation of the raw IUVs' per-frame, "
                                 "per-part scale about the tile centre")

    def check(self) -> None:
        if self.motion not in figure.MOTIONS:
            raise InputError(f"--motion {self.motion}: expected one of {', '.join(figure.MOTIONS)}")
        for name in ("size", "frames", "samples", "tile", "detail", "threads"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name} must be at least 1, got {getattr(self, name)}")
        if self.size < 16:
            raise InputError(f"--size {self.size}: at least 16 pixels are needed")
        if not 0.01 <= self.filter_width <= 10.0:
            raise InputError(f"--filter-width {self.filter_width}: expected 0.01 to 10 pixels")
        if self.jitter_shift < 0 or self.jitter_scale < 0:
            raise InputError("--jitter-shift and --jitter-scale must not be negative")


def jitter_uv(uv: np.ndarray, mask: np.ndarray, frame: int, cfg: SynthConfig) -> np.ndarray:
    """DensePose-like error: each part's (U, V) scaled about its tile centre and shifted, by
    amounts drawn once per frame and part (seeded by seed and frame), clipped to the tile."""
    rng = np.random.default_rng([cfg.seed, frame])
    scale = 1.0 + cfg.jitter_scale * rng.standard_normal((atlas.PARTS + 1, 2))
    shift = cfg.jitter_shift * rng.standard_normal((atlas.PARTS + 1, 2))
    i, u, v = atlas.uv_to_iuv(uv, mask)
    # kept inside the tile: U = 1 would be the next tile's U = 0 in global coordinates
    lo, hi = figure.TILE_MARGIN, 1.0 - figure.TILE_MARGIN
    u = np.clip(0.5 + scale[i, 0] * (u - 0.5) + shift[i, 0], lo, hi)
    v = np.clip(0.5 + scale[i, 1] * (v - 0.5) + shift[i, 1], lo, hi)
    out, _ = atlas.iuv_to_uv(np.where(mask, i, 0), u, v)
    return out


def _read_scratch(path: Path) -> np.ndarray:
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise RuntimeError(f"Blender did not write {path}")
    return img[..., [2, 1, 0, 3]]  # BGRA -> RGBA


def _write_frame(out: Path, frame: int, scratch: Path, cfg: SynthConfig) -> None:
    uvr = _read_scratch(scratch / f"uv.{frame}.exr")
    mask = uvr[..., 3] > 0.5
    garment = mask & (uvr[..., 2] > 0.75)  # object id / 2: body 0.5, skirt 1.0
    uv = uvr[..., :2]
    rgba = _read_scratch(scratch / f"rgb.{frame}.png")
    name = f"frame.{frame:04d}.png"
    # colour outside the mask is dropped: with a binary alpha, straight = premultiplied
    uvio.write_rgb(out / "rgb" / name, rgba[..., :3] / 255.0 * mask[..., None], mask)
    uvio.write_uv(out / "uv_gt" / name, uv, mask)
    body = mask & ~garment
    uvio.write_iuv(out / "iuv_raw" / name, jitter_uv(uv, body, frame, cfg), body)
    uvio.write_rgb(out / "garment" / name, np.repeat(garment[..., None], 3, -1).astype(float))
    if cfg.body_pass:
        bodyr = _read_scratch(scratch / f"body.{frame}.exr")
        bmask = bodyr[..., 3] > 0.5
        uvio.write_iuv(out / "iuv_body" / name, jitter_uv(bodyr[..., :2], bmask, frame, cfg),
                       bmask)


def meta(cfg: SynthConfig, texture_shape) -> dict:
    return {
        "format": "billow-uv-synth/1",
        "resolution": [cfg.size, cfg.size],
        "frames": [1, cfg.frames],
        "motion": cfg.motion,
        "seed": cfg.seed,
        "config": asdict(cfg),
        "files": {k: v for k, v in FILES.items() if k != "iuv_body" or cfg.body_pass},
        "texture": {"file": "texture.png", "size": list(texture_shape[:2]), "tile": cfg.tile,
                    "layout": "billow.uv.atlas: 6 rows x 4 columns of DensePose parts, part p "
                              "in column (p-1)//6, row (p-1)%6; v up (texel row 0 is v = 1)",
                    "tile_margin": figure.TILE_MARGIN},
        "garment": {"name": "skirt", "parts": list(figure.GARMENT_PARTS),
                    "part_names": [figure.PART_NAMES[p - 1] for p in figure.GARMENT_PARTS],
                    "note": "the skirt's quadrants (front-left, back-left, back-right, "
                            "front-right) reuse the upper-leg tiles; the legs under it are "
                            "hidden in every frame"},
        "part_names": list(figure.PART_NAMES),
        "camera": {**blender_scene.CAMERA, "fixed": True},
        "render": {"engine": "Cycles CPU", "rgb": f"{cfg.samples} samples, {cfg.filter_width} px "
                   "Blackman-Harris filter, Emission shader, Raw view, Non-Color texture",
                   "uv": "1 sample, 0.01 px filter (pixel centres), material override",
                   "mask": "coverage at pixel centres; also the RGB alpha"},
        "raw": {"jitter_shift": cfg.jitter_shift, "jitter_scale": cfg.jitter_scale,
                "quantisation": "8-bit DensePose IUV",
                "iuv_raw": "ground truth without the skirt's pixels, jittered",
                "iuv_body": "a render without the skirt (legs under it), jittered alike"},
    }


def _check_bpy() -> None:
    # find_spec locates the wheel without importing it into this process
    if importlib.util.find_spec("bpy") is None:
        raise MissingDependencyError("billow uv synth renders with Blender's bpy wheel, which "
                                     "is not installed here: pip install bpy")


def synthesise(out_dir: str | Path, cfg: SynthConfig, progress_mode: str = "auto") -> dict:
    """Render the benchmark into `out_dir`; returns its meta.json content."""
    cfg.check()
    _check_bpy()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create the output folder ({e.strerror})") from e
    texture = make_texture(cfg.tile, cfg.seed)
    uvio.write_rgb(out / "texture.png", texture)
    info = meta(cfg, texture.shape)
    scratch = Path(tempfile.mkdtemp(prefix=".synth-", dir=out))
    config = dict(asdict(cfg), scratch=str(scratch), texture=str((out / "texture.png").resolve()),
                  frames=list(range(1, cfg.frames + 1)))
    (scratch / "config.json").write_text(json.dumps(config))
    log = scratch / "blender.log"
    tail = collections.deque(maxlen=40)
    proc = None
    try:
        with open(log, "w") as err, Progress(cfg.frames, "uv synth", progress_mode) as progress:
            proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(scratch / "config.json"),
                                     TOOLS],
                                    stdout=subprocess.PIPE, stderr=err, text=True,
                                    cwd=str(scratch))
            for line in proc.stdout:
                tail.append(line.rstrip())
                if line.startswith("BILLOW_FRAME "):
                    frame = int(line.split()[1])
                    _write_frame(out, frame, scratch, cfg)
                    progress.step(frame=frame, file=str(out / "rgb" / f"frame.{frame:04d}.png"))
            code = proc.wait()
        if code != 0 or progress.done != cfg.frames:
            detail = "\n".join(list(tail)[-15:] + log.read_text().splitlines()[-15:])
            raise RuntimeError(f"Blender exited with code {code} after {progress.done} of "
                               f"{cfg.frames} frames:\n{detail}")
        with atomic_path(out / "meta.json") as tmp:
            Path(tmp).write_text(json.dumps(info, indent=2) + "\n")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    return info
