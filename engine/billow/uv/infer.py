"""A trained UV model over a sequence (`billow uv infer`): every raw frame (UVs or DensePose
IUVs) to full-silhouette UVs, written as it is done, so a killed run resumes where it
stopped."""

from __future__ import annotations

from ..progress import Progress
from . import io as uvio


def infer_sequence(model, jobs, *, tile: int | None = None, iuv: bool = False,
                   resume: bool = False, progress: str = "auto") -> int:
    """Run `model` (`UVModel`) on `jobs` (frame, raw path, output path); returns the frames
    written. `iuv` writes 8-bit DensePose IUV PNGs instead of UV frames; `resume` leaves
    frames whose output exists."""
    write = uvio.write_iuv if iuv else uvio.write_uv
    done = 0
    with Progress(len(jobs), "uv infer", progress) as p:
        for frame, src, dst in jobs:
            if resume and dst.exists():
                p.step(frame=frame, file=str(dst), skipped=True)
                continue
            uv, mask = uvio.read_uv(src)
            out, fg, _ = model.predict(uv, mask, tile=tile)
            write(dst, out, fg)
            done += 1
            p.step(frame=frame, file=str(dst), coverage=round(float(fg.mean()), 4))
    return done
