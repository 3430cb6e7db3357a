"""Re-texturing a sequence: a new texture on every frame through its UVs, one bilinear lookup
per pixel (billow.uv.lookup), composited over the original frames (`billow retexture`).

Frames are independent, so several are in flight at once (`--jobs`): PNG decoding and encoding
release the GIL and dominate the time; the lookup itself is a few milliseconds per 1080p frame.
Images stay in OpenCV's B, G, R(, A) channel order from reading to writing: the lookup never
mixes channels, so nothing is reordered.

The fast path (the defaults with the native CPU kernel): 16-bit UV frames go to the kernel as
uint16, straight from the decoder (one OpenCV channel shuffle; no float conversion, clipping
or range check: a 16-bit value cannot leave [0, 1]); frames are decoded, looked up, encoded
in memory and written in one call on `--jobs` threads;
PNGs are written with OpenCV's own fast setting (an explicit `--png-level` trades speed for
size; even level 0 measured slower), and `.tif` output (and TIFF/EXR input) avoids PNG's
deflate altogether. PNG in and out is the floor: see `benchmarks/bench_retexture.py`.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import InputError, OutputError
from ..io.atomic import atomic_path
from ..io.jobs import input_output_frames, refuse_overwriting_inputs
from ..io.sequence import FramePattern, resolve_frames
from ..progress import Progress

_ALPHA_FORMATS = (".png", ".tif", ".tiff", ".webp", ".exr")


@dataclasses.dataclass(frozen=True)
class RetextureOptions:
    """How the frames are looked up and written (the flags of `billow retexture`)."""

    feather: float = 0.0  # soften the mask's edge over this many pixels inside it
    backend: str = "native"  # lookup implementation: native or torch
    device: str = "cpu"  # cpu or cuda
    png_level: int | None = None  # PNG compression 0-9; None: OpenCV's fast setting
    jobs: int = min(4, os.cpu_count() or 1)  # frames in flight at once

    def check(self) -> None:
        if self.jobs < 1:
            raise InputError(f"--jobs must be at least 1, got {self.jobs}")
        if self.png_level is not None and not 0 <= self.png_level <= 9:
            raise InputError(f"--png-level must be 0 to 9, got {self.png_level}")
        if self.feather < 0:
            raise InputError(f"--feather must be 0 or more pixels, got {self.feather}")


def _cv2():
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")  # before OpenCV's first import
    import cv2

    return cv2


def _to_u8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.rint(np.clip(np.nan_to_num(img.astype(np.float32)), 0.0, 1.0) * 255).astype(np.uint8)


def read_texture(path: str | Path) -> np.ndarray:
    """The texture as uint8 B, G, R, A `[Ht, Wt, 4]` (opaque if the file has no alpha)."""
    from .lookup import as_rgba

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such texture file")
    img = _cv2().imread(str(path), _cv2().IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise InputError(f"{path}: cannot read the texture (not an image, or corrupt)")
    return as_rgba(_to_u8(img))


def read_plate(path: Path) -> np.ndarray:
    """A background frame as uint8 B, G, R `[H, W, 3]` (alpha dropped: the plate is opaque)."""
    img = _cv2().imread(str(path), _cv2().IMREAD_COLOR)
    if img is None or img.size == 0:
        raise InputError(f"{path}: cannot read the background frame (not an image, or corrupt)")
    return np.ascontiguousarray(_to_u8(img))


def _png_size(path: Path) -> tuple[int, int] | None:
    """(H, W) from a PNG's header without decoding it; None for other files."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    w, h = struct.unpack(">II", head[16:24])
    return h, w


def _check_sizes(jobs, plates) -> None:
    """Every UV frame and its background the same size, checked from the PNG headers before
    anything is written (other formats are checked frame by frame)."""
    first = None
    for k, (_, src, _) in enumerate(jobs):
        size = _png_size(src)
        if size is not None and first is not None and size != first[1]:
            raise InputError(f"{src}: size {size[1]}x{size[0]} differs from {first[0]} "
                             f"({first[1][1]}x{first[1][0]})")
        if size is not None and first is None:
            first = (src, size)
        plate = plates[k] if plates else None
        psize = _png_size(plate) if plate is not None and size is not None else None
        if psize is not None and psize != size:
            raise InputError(f"{plate}: background size {psize[1]}x{psize[0]} differs from the "
                             f"UV frame {src} ({size[1]}x{size[0]})")


def _plates(pattern: str | None, jobs) -> list[Path] | None:
    """The background file of each job: the same frames of a sequence, or one still image."""
    if pattern is None:
        return None
    pat = FramePattern.parse(pattern)
    if not pat.is_sequence:  # one still plate under every frame
        return [resolve_frames(pat)[0][1]] * len(jobs)
    frames = [f for f, _, _ in jobs]
    if frames[0] is None:
        raise InputError(f"{pattern}: the UVs are one file, so the background must be one "
                         "file too (no frame token)")
    return [p for _, p in resolve_frames(pat, frames)]


class _Frame:
    """Everything one frame needs; `__call__` reads, looks up and writes it (in a worker)."""

    def __init__(self, options: RetextureOptions, texture, device):
        self.options, self.texture, self.device = options, texture, device

    def __call__(self, src: Path, plate: Path | None, dst: Path) -> None:
        from . import io as uvio
        from .lookup import feather, retexture

        # fast path: the native CPU kernel takes 16-bit UVs as they are decoded
        uv, mask = uvio.read_uv(src, keep_u16=self.device is None
                                and self.options.backend == "native")
        empty = not mask.any()
        bg = None
        if plate is not None:
            bg = read_plate(plate)
            uvio.require_same_size(plate, bg.shape, src, mask.shape)
        cover = feather(mask, self.options.feather) if self.options.feather > 0 else mask
        if self.device is None:
            out = retexture(self.texture, uv, cover, bg, backend=self.options.backend)
        else:
            out = self._on_gpu(uv, cover, bg)
        self._write(dst, out)
        return f"{src}: the UV mask is empty (no foreground pixel); written as background only" \
            if empty else None

    def _on_gpu(self, uv, cover, bg):
        import torch

        from .lookup import retexture

        dev = self.device
        t = [None if a is None else torch.from_numpy(a).to(dev) for a in (uv, cover, bg)]
        return retexture(self.texture, t[0], t[1], t[2], backend=self.options.backend).cpu().numpy()

    def _write(self, dst: Path, img: np.ndarray) -> None:
        cv2 = _cv2()
        with atomic_path(dst) as tmp:
            suffix = dst.suffix.lower()
            params = []
            if suffix == ".png" and self.options.png_level is not None:
                params = [cv2.IMWRITE_PNG_COMPRESSION, self.options.png_level]
            elif suffix in (".tif", ".tiff"):
                params = [cv2.IMWRITE_TIFF_COMPRESSION, 1]  # none: the fastest 8-bit output
            # encoded in memory, then written in one call: libtiff writing to a file itself
            # took 1.6x the CPU time (many small writes); the same bytes either way
            try:
                ok, data = cv2.imencode(suffix, img, params)
            except cv2.error as e:
                raise OutputError(f"{dst}: cannot write ({str(e).strip().splitlines()[-1]})") from e
            if not ok:
                raise OutputError(f"{dst}: cannot write (unsupported extension)")
            with open(tmp, "wb") as f:  # an OSError (disk full) is atomic_path's to report
                f.write(data.data)


def retexture_sequence(uv: str, texture: str | Path, out: str, *, background: str | None = None,
                       frames: str | None = None, options: RetextureOptions = RetextureOptions(),
                       progress: str = "auto") -> int:
    """Re-texture the UV frames `uv` (a frame pattern or one file) with `texture` into `out`
    (composited over `background`, or straight-alpha RGBA without it); returns the frames
    written. Everything is checked (sizes from the PNG headers, outputs against inputs)
    before the first frame is written."""
    options.check()
    jobs = input_output_frames(uv, out, frames)
    if background is None and jobs[0][2].suffix.lower() not in _ALPHA_FORMATS:
        raise InputError(f"{out}: without --background the output is RGBA; "
                         f"{jobs[0][2].suffix or 'this format'} has no alpha (use .png)")
    plates = _plates(background, jobs)
    refuse_overwriting_inputs([j[2] for j in jobs], [texture, *(plates or [])])
    _check_sizes(jobs, plates)
    tex = read_texture(texture)
    device = None
    if options.device == "cuda":
        import torch

        from .._native import cuda_kernels

        if options.backend == "native":
            cuda_kernels()  # a missing GPU or toolkit is reported now, not per frame
        elif not torch.cuda.is_available():
            raise InputError("--device cuda: no CUDA device visible to torch")
        device = torch.device("cuda")
        tex = torch.from_numpy(tex).to(device)
    work = _Frame(options, tex, device)
    todo = [(f, src, plates[k] if plates else None, dst) for k, (f, src, dst) in enumerate(jobs)]
    with Progress(len(todo), "retexture", progress) as bar, \
            ThreadPoolExecutor(max_workers=options.jobs) as pool:
        # a bounded window keeps memory flat on long sequences; results are taken in order
        window = 2 * options.jobs
        pending = []
        try:
            for item in todo:
                pending.append((item, pool.submit(work, *item[1:])))
                if len(pending) >= window:
                    _finish(pending.pop(0), bar)
            while pending:
                _finish(pending.pop(0), bar)
        except BaseException:
            for _, fut in pending:
                fut.cancel()
            raise
    return len(todo)


def _finish(entry, progress: Progress) -> None:
    (frame, _, _, dst), fut = entry
    note = fut.result()
    if note:
        progress.warn(note)
    progress.step(frame=frame, file=str(dst))
