"""Upres a sequence: farm chunking, resume, prefetch, out-of-memory recovery, progress.

Frames are independent; each is written atomically, so a killed run is resumed by running
the same command with `--skip-existing`. The next frame is read on a worker thread while the
current one computes, and the frame just computed is written on another while the next one
computes (at most one write in flight, so at most two frames' output grids are held; a write's
error is raised in the main loop as if the write had run there, and a frame is reported as
done only once its file is complete).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import BillowError, InputError
from ..io import ReadOptions, SmokeFrame, list_grids, read_smoke_frame, resolve, write_vdb
from ..io.atomic import remove_stale_temporaries
from ..io.frame import check_plausible
from ..io.regions import occupied_regions, use_regions
from ..io.units import rotate_up_axis
from ..ops.normalise import frame_sums, scales_from_sums
from ..io.vdb import vdb_complete
from ..progress import Progress
from ..io.model_card import ModelCard
from .config import UpresConfig
from .upres import tile_for_memory, tile_note, upres_frame

MIN_TILE = 8
# False: each frame is written before the next one computes (the behaviour before writes
# overlapped; `benchmarks/bench_upres_overlap.py` measures one against the other)
OVERLAP_WRITES = True


def _write_now(fn, *args, **kwargs) -> Future:
    """`fn` run here and now, its outcome in a finished future (writes without overlap)."""
    future = Future()
    try:
        future.set_result(fn(*args, **kwargs))
    except Exception as e:  # raised again by `result()`, where an overlapped write's would be
        future.set_exception(e)
    return future


def _is_out_of_memory(e: BaseException) -> bool:
    text = str(e).lower()
    return isinstance(e, MemoryError) or "out of memory" in text or "failed to allocate" in text


def _check_up_axis(frame, opt: ReadOptions) -> None:
    declared = frame.density.metadata.get("billow_up_axis")
    if declared and declared != opt.up_axis:
        raise InputError(f"{frame.path}: the cache says its up axis is '{declared}' but "
                         f"--up-axis is '{opt.up_axis}'")


def upres_sequence(jobs: list[tuple[int | None, Path, Path]], backend, card: ModelCard,
                   cfg: UpresConfig, opt: ReadOptions, *, progress_mode: str = "auto",
                   skip_existing: bool = False, settings: dict | None = None,
                   preview=None) -> int:
    """Run `jobs` (frame, input, output); returns the number of frames written. `preview`
    (a `billow.infer.preview.UpresPreview`) gets input and output of every N-th frame."""
    redo = []
    for folder in sorted({j[2].parent for j in jobs}):
        remove_stale_temporaries(folder, {j[2].name for j in jobs})
    if skip_existing:
        kept = []
        for j in jobs:
            damage = vdb_complete(j[2]) if j[2].exists() else "missing"
            if damage is None:
                continue  # finished and complete: keep it
            if damage != "missing":
                redo.append(f"{j[2]}: {damage}")
            kept.append(j)
        jobs = kept
    tile = tile_for_memory(card, cfg.max_memory, cfg.batch) if cfg.max_memory else cfg.tile
    if tile < 1:
        raise InputError(f"--tile must be >= 1, got {tile}")
    tile_warning = tile_note(card, tile, cfg.max_memory)  # a halo-dominated tile (issue 20)
    extras = tuple(w.strip() for w in cfg.pass_through.split(",") if w.strip())
    if cfg.mask and ":" not in cfg.mask:
        extras += (cfg.mask,)
    read_opt = ReadOptions(**{**opt.__dict__, "require_velocity": card.needs_velocity})
    extra_arg = "all" if extras else ()
    pad = card.halo + 2  # the receptive radius, the tricubic blend's 2 cells, a staggered face

    def read(path):
        """The frame, or for a sparse cache the boxes of its occupied regions (each read as
        its own dense window later, so memory follows the active voxels)."""
        name = resolve(list_grids(path), "density", read_opt.density_grid, source=str(path),
                       required=True).names[0]
        if use_regions(path, [name], pad):
            boxes = occupied_regions(path, [name], pad)
            if boxes:
                return boxes
        return read_smoke_frame(path, read_opt, extras=extra_arg)

    settings = {"billow_model": card.name, "billow_scale": cfg.scale,
                "billow_velocity_scale": cfg.velocity_scale, "billow_mask": cfg.mask or "",
                "billow_detail_blend": cfg.detail_blend, "billow_up_axis": opt.up_axis,
                "billow_velocity_units_in": opt.velocity_units or "auto",
                "billow_fps": opt.fps, **(settings or {})}
    reference = None
    written = 0
    with Progress(len(jobs), "upres", progress_mode) as progress, \
            ThreadPoolExecutor(max_workers=1) as pool, \
            ThreadPoolExecutor(max_workers=1) as writer:
        for text in redo:
            progress.warn(f"{text}; upres'ing that frame again")
        if tile_warning:
            progress.warn(tile_warning)
        # the preview-model note waits for the first frame written: a run that fails on its
        # input ends in the one error line and nothing else (docs/guarantees.md)
        note = (f"model {card.name} is a {card.status} model: "
                f"{card.extra.get('status_note', 'see its card')}"
                if card.status != "release" else None)
        in_flight = None  # the frame being written: (future, what `written_out` reports)
        stopping = threading.Event()  # set on Ctrl-C / SIGTERM: the write in flight gives up

        def written_out():
            """Wait for the write in flight (raising its error here), then report the frame."""
            nonlocal in_flight, written, note
            if in_flight is None:
                return
            (future, frame_no, dst, start, read_s, used_tile, grids, shown) = in_flight
            in_flight = None
            future.result()
            written += 1
            if note:
                progress.warn(note)
                note = None
            if shown:
                preview.add(frame_no, shown, grids[0].grid)
            progress.step(frame=frame_no, file=str(dst), read_s=round(read_s, 3),
                          total_s=round(time.perf_counter() - start, 3), tile=used_tile)

        pending = pool.submit(read, jobs[0][1]) if jobs else None
        try:
            for k, (frame_no, src, dst) in enumerate(jobs):
                start = time.perf_counter()
                item = pending.result()
                pending = pool.submit(read, jobs[k + 1][1]) if k + 1 < len(jobs) else None
                grids, frame, read_s, shown, tile, reference = _upres_one(
                    item, start, frame_no, src, backend, card, cfg, opt, read_opt, extra_arg,
                    tile, settings, progress,
                    preview is not None and preview.wants(k, len(jobs)), reference)
                if frame.density.data.size == 0:
                    progress.message(f"frame {frame_no}: no active density; written as empty")
                written_out()  # the previous frame's write: at most one in flight
                write = writer.submit if OVERLAP_WRITES else _write_now
                in_flight = (write(write_vdb, dst, grids, metadata=settings, abandon=stopping),
                             frame_no, dst, start, read_s, tile, grids, shown)
            written_out()
        except BaseException as e:
            # an error while the previous frame is being written: that file still completes
            # and is reported; on Ctrl-C or SIGTERM (which only the main thread receives) the
            # write is abandoned unless it is nearly done, so the run stops promptly with whole
            # frames only. The first error is the one the run ends with.
            if isinstance(e, KeyboardInterrupt):
                stopping.set()
            if in_flight is not None:
                try:
                    written_out()
                except BaseException:
                    pass
            raise
    return written


def _upres_one(item, start: float, frame_no, src, backend, card: ModelCard, cfg: UpresConfig,
               opt: ReadOptions, read_opt: ReadOptions, extra_arg, tile: int, settings: dict,
               progress, want_preview: bool, reference):
    """Upres one frame (`item`: the frame, or the boxes of a sparse cache's occupied regions;
    `start`: when the frame's turn began); returns (output grids, the last window read,
    seconds to read, the input windows for the preview, the tile size after any out-of-memory
    retries, the (frame, transform) every frame of the sequence must share)."""
    windows = item if isinstance(item, list) else [item]
    if isinstance(item, list):
        progress.message(f"frame {frame_no}: sparse cache, {len(windows)} occupied "
                         "region(s) upres'd one by one")
    grids = None
    read_s = None
    shown = []  # the input windows in the cache's index space, for the preview
    scales = None
    if card.normalise == "frame" and len(windows) > 1:
        # whole-frame statistics first: every region is divided by the same numbers
        sums = np.zeros(3)
        for window in windows:
            w = (window if isinstance(window, SmokeFrame) else
                 read_smoke_frame(src, read_opt, window=window))
            sums += frame_sums(w.density.data, w.velocity.data
                               if w.velocity is not None else None)
        scales = scales_from_sums(sums)
    for window in windows:
        if isinstance(window, SmokeFrame):
            frame = window
        else:
            frame = read_smoke_frame(src, read_opt, extras=extra_arg, window=window)
        _check_up_axis(frame, opt)
        check_plausible(frame, progress.warn)
        if reference is None:
            reference = (frame_no, frame.density.matrix)
        elif not np.allclose(reference[1], frame.density.matrix, rtol=1e-6, atol=1e-9):
            raise InputError(f"{src}: frame {frame_no} has a different transform from "
                             f"frame {reference[0]}; upres frames of one sequence need "
                             "one grid (resample them first)")
        if read_s is None:
            read_s = time.perf_counter() - start
        if want_preview:
            shown.append(rotate_up_axis(frame.density, "y", opt.up_axis))
        while True:
            try:
                grids = upres_frame(frame, backend.run, card, cfg, tile=tile,
                                    cache_up=opt.up_axis, settings=settings, into=grids,
                                    scales=scales)
                break
            except (MemoryError, RuntimeError) as e:
                if not _is_out_of_memory(e) or tile <= MIN_TILE:
                    if _is_out_of_memory(e):
                        raise BillowError(f"{src}: out of memory even with {tile}-cell "
                                          "tiles; lower --batch or free memory") from e
                    raise
                tile = max(MIN_TILE, tile // 2)
                progress.warn(f"frame {frame_no}: out of memory, retrying with "
                              f"--tile {tile}")
    return grids, frame, read_s, shown, tile, reference
