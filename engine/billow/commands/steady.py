"""`billow steady`: less boiling in an upres'd sequence; a temporal filter along the flow
(`billow.ops.steady`), run after `billow upres --write-velocity`."""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from ..config import add_arguments, from_args
from ..errors import InputError
from ..io import ReadOptions, Volume, list_grids, read_grid, resolve, rotate_up_axis, write_vdb
from ..io.vdb import GridBuilder, dense_limit_bytes
from .common import (
    add_chunk_arguments,
    add_frames_argument,
    add_progress_argument,
    input_output_frames,
    refuse_overwriting_inputs,
)

DEFAULT_TAPS = "1,1,1"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "steady", help="calm the boiling of an upres'd sequence (a filter along the flow)",
        description="Average each frame of an upres'd sequence with the previous frames "
        "carried forward along the velocity, keeping each input cell's mean density (mass "
        "and large shapes stay the frame's own): the invented detail boils less where smoke "
        "is dense and slow, at the cost of some fine detail. The input is `billow upres "
        "--write-velocity` output (the velocity grid is needed). Frame t reads frames "
        "t-K+1..t of the input only (K taps), so chunks split over a farm give exactly what "
        "one run gives. Every grid other than the density is copied as it is. Exit codes: 2 "
        "bad input, 3 unwritable output, 1 runtime failure.")
    p.add_argument("input", metavar="UPRES_PATTERN",
                   help="upres'd .vdb frame pattern (with velocity)")
    p.add_argument("output", metavar="OUT_PATTERN", help="output .vdb frame pattern")
    p.add_argument("--taps", default=DEFAULT_TAPS,
                   help="weights of the current and previous frames, newest first (default: "
                   f"{DEFAULT_TAPS}: three frames alike; 1,1,1,1,1 calms more and softens "
                   "more)")
    p.add_argument("--keep-detail", action=argparse.BooleanOptionalAction, default=True,
                   help="scale the averaged detail back, input cell by input cell, to the "
                   "upres's own detail energy, so the pattern steadies without fading "
                   "(default); --no-keep-detail leaves the average as it is (softer)")
    p.add_argument("--block", type=int, default=None,
                   help="high-res cells per input cell, whose means are kept (default: the "
                   "input's billow_scale metadata, written by billow upres)")
    add_frames_argument(p)
    add_chunk_arguments(p)
    add_arguments(p, ReadOptions, skip=("pad",), title="input interpretation")
    add_progress_argument(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..evaluation.sequences import open_sequence, read_density_velocity
    from ..farm import select_chunk
    from ..ops.steady import parse_taps, steady_frame
    from ..progress import Progress

    try:
        taps = parse_taps(args.taps)
    except ValueError as e:
        raise InputError(str(e)) from None
    options = dataclasses.replace(from_args(ReadOptions, args), require_velocity=True)
    jobs = select_chunk(input_output_frames(args.input, args.output, args.frames),
                        args.chunk, args.chunk_index)
    refuse_overwriting_inputs([j[2] for j in jobs], [])
    seq = open_sequence("input", args.input, None, options)  # every frame: the history
    first = jobs[0][1]
    infos = list_grids(first)
    if resolve(infos, "velocity", options.velocity_grid, source=str(first)) is None:
        raise InputError(f"{first}: no velocity grid; billow steady carries frames along the "
                         "flow: upres with --write-velocity")
    block = args.block or _scale_of(infos, seq.grid[0], first)
    if block < 1:
        raise InputError(f"--block {block}: must be at least 1")
    if seq.lo is None:
        raise InputError(f"{args.input}: every frame is empty (no active density)")
    # one block for the whole sequence, aligned to the input cells and one cell wider on every
    # side (advection reads the border), so every chunk sees the same block
    lo = (np.floor_divide(seq.lo, block) - 1) * block
    hi = (np.floor_divide(seq.hi, block) + 2) * block
    shape = tuple(int(n) for n in hi - lo)
    need = len(taps) * 4 * 4 * int(np.prod(shape))  # density + velocity per frame kept
    if need > dense_limit_bytes():
        raise InputError(f"{args.input}: {len(taps)} frames of the {shape} block need "
                         f"{need / 2**30:.3g} GB, over the dense-memory limit "
                         f"({dense_limit_bytes() / 2**30:.3g} GB; BILLOW_MAX_DENSE_GB); use "
                         "fewer --taps")
    index = {f: i for i, f in enumerate(seq.frames)}
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    text = ",".join(f"{t:g}" for t in taps)
    with Progress(len(jobs), "steady", args.progress) as progress:
        for frame, src, dst in jobs:
            if args.skip_existing and dst.exists():
                progress.step(frame=frame, file=str(dst), skipped=True)
                continue
            history = [frame]
            while (len(history) < len(taps) and frame is not None
                   and history[-1] - 1 in index):
                history.append(history[-1] - 1)
            history.reverse()  # oldest first
            for f in history:
                if f not in cache:
                    rho, vel = read_density_velocity(seq, index[f], lo, shape, options)
                    cache[f] = (rho, vel)
            for f in [f for f in cache if f not in history]:
                del cache[f]
            out = steady_frame([cache[f][0] for f in history], [cache[f][1] for f in history],
                               taps, block, keep_detail=args.keep_detail)
            _write(dst, src, seq.grid[index[frame]], out, lo, seq.matrix, options.up_axis,
                   {"billow_steady_taps": text, "billow_steady_frames": len(history),
                    "billow_steady_keep_detail": bool(args.keep_detail)})
            progress.step(frame=frame, file=str(dst))
    return 0


def _scale_of(infos, density: str, path) -> int:
    info = next(i for i in infos if i.name == density)
    scale = info.metadata.get("billow_scale")
    if scale is None:
        raise InputError(f"{path}: no billow_scale metadata (not billow upres output?); give "
                         "--block, the upres factor")
    return int(scale)


def _write(dst, src, density: str, data: np.ndarray, lo, matrix, up: str, meta: dict) -> None:
    """The filtered density in place of the source's, every other grid copied; the density
    keeps its metadata and background threshold (billow_density_threshold)."""
    infos = list_grids(src)
    info = next(i for i in infos if i.name == density)
    vol = rotate_up_axis(Volume(density, data, tuple(int(v) for v in lo), matrix), "y", up)
    grid_meta = {**info.metadata, **meta}
    builder = GridBuilder(density, vol.matrix, metadata=grid_meta,
                          half=bool(info.saved_as_half),
                          tolerance=float(info.metadata.get("billow_density_threshold", 0.0)))
    builder.paste(vol.data, vol.offset)
    others = [read_grid(src, i.name) for i in infos if i.name != density]
    write_vdb(dst, [builder, *others], metadata=meta)
