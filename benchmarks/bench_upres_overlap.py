"""Overlap of the VDB write of frame k with the compute of frame k+1 (`billow upres` on a
sequence): the engine's runner against the same runner writing each frame before the next
computes (`billow.infer.runner.OVERLAP_WRITES = False`, the behaviour before), interleaved
A/B in one process, best and median of the rounds, with the load average.

    python benchmarks/bench_upres_overlap.py [--res 48] [--frames 8] [--rounds 2] [--half]
                                             [--first 30] [--stand-in]

The frames are a `res`^3 plume simulated by `billow sim`'s solver (frames `first` ..
`first + frames - 1`), upres'd 4x with the shipped model (or a stand-in) into a temporary
folder. The gain is at
most the write's share of a frame: larger for cheap frames and slow disks, small where the
network dominates.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, default=48)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--half", action="store_true", help="write 16-bit floats (--half)")
    ap.add_argument("--stand-in", action="store_true",
                    help="replace the network by nearest upsampling (no weights): the frame "
                    "costs little besides its I/O, the most the overlap can gain")
    ap.add_argument("--first", type=int, default=30, help="first frame used (default: 30)")
    args = ap.parse_args(argv)

    import billow.infer.runner as runner
    from billow.infer import UpresConfig, load_card, make_backend, upres_sequence
    from billow.infer.models import default_model
    from billow.io import ReadOptions
    from billow.io.jobs import input_output_frames
    from billow.sim.scenes import preset
    from billow.sim.sequence import SimSettings, simulate_sequence

    card = load_card(default_model())
    backend = make_backend(card)
    if args.stand_in:
        class StandIn:
            @staticmethod
            def run(x):
                y = x[:, :1]
                for axis in (2, 3, 4):
                    y = np.repeat(y, card.scale, axis=axis)
                return y
        backend = StandIn()
    cfg = UpresConfig(half=args.half)
    write_s = []
    real_write = runner.write_vdb

    def timed_write(*a, **kw):  # the write's own time, whichever thread runs it
        t0 = time.perf_counter()
        try:
            return real_write(*a, **kw)
        finally:
            write_s.append(time.perf_counter() - t0)

    runner.write_vdb = timed_write
    first = args.first
    with tempfile.TemporaryDirectory() as tmp:
        simulate_sequence(SimSettings(preset("plume", 3, 0), args.res, 3, 0),
                          f"{tmp}/in/smoke.####.vdb", first + args.frames - 1, progress="off")
        frames = f"{first}-{first + args.frames - 1}"
        times = {True: [], False: []}
        for r in range(args.rounds + 1):  # round 0 warms up (ORT arena, page cache)
            for overlap in (False, True):
                runner.OVERLAP_WRITES = overlap
                jobs = input_output_frames(f"{tmp}/in/smoke.####.vdb",
                                           f"{tmp}/out{int(overlap)}/up.####.vdb", frames)
                write_s.clear()
                t0 = time.perf_counter()
                upres_sequence(jobs, backend, card, cfg, ReadOptions(), progress_mode="none")
                wall = time.perf_counter() - t0
                if r:
                    times[overlap].append((wall, sum(write_s)))
                    print(f"  round {r} {'overlapped' if overlap else 'in turn   '}: "
                          f"{wall:6.2f} s for {args.frames} frames, writes {sum(write_s):5.2f} s",
                          flush=True)
        from billow.io import read_grid

        outs = sorted(Path(f"{tmp}/out1").glob("up.*.vdb"))
        same = len(outs) == args.frames and all(np.array_equal(
            read_grid(p, "density").data, read_grid(Path(f"{tmp}/out0") / p.name,
                                                    "density").data) for p in outs)
    runner.OVERLAP_WRITES = True
    runner.write_vdb = real_write
    before = [t for t, _ in times[False]]
    after = [t for t, _ in times[True]]
    ratios = [a / b for a, b in zip(after, before)]
    print(f"\n{args.frames} frames of {args.res}^3 -> 4x, load average "
          f"{os.getloadavg()[0]:.2f} (2-core shared machine; ratios are the figure to quote)")
    print(f"  in turn (before):   best {min(before) / args.frames:6.3f} s/frame, writes "
          f"{np.median([w for _, w in times[False]]) / args.frames:6.3f} s/frame")
    print(f"  overlapped (after): best {min(after) / args.frames:6.3f} s/frame")
    print(f"  after / before: median {np.median(ratios):.3f}x, best-to-best "
          f"{min(after) / min(before):.3f}x (outputs identical: {same})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
