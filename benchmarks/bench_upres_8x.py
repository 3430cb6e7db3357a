"""8x without a dense intermediate: time and peak memory of one 8x frame, the streamed second
pass (the engine's) against the dense one it replaced (`billow.infer.upres._dense_passes`),
with the output compared voxel for voxel.

    python benchmarks/bench_upres_8x.py [--res 48] [--tile 48] [--repeats 2] [--stand-in]
                                        [--sim [--frame 40]]

The frame is `bench_upres.py`'s synthetic `res`^3 plume (a lumpy rising column whose bounding
box is the whole frame), or with `--sim` the last frame of a plume simulated by `billow sim`'s
solver, upres'd 8x (48^3 -> 384^3 by default) with the shipped model into a sparse grid, as
`billow upres --scale 8` does. Each run is its own spawned process (peak RSS is per process), the
runs interleaved dense/streamed/dense/...; the best time and the lowest peak of each are
reported, with the peak above the process's RSS once the model is loaded, and the ratios.
With the real network the peak is mostly its working memory on one tile; `--stand-in` replaces
it by nearest upsampling (same shapes, no weights) to show what the passes themselves hold.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def _stand_in(scale: int):
    """A network of the same input and output shapes that costs next to nothing (nearest
    upsampling of the density channel), to isolate what the passes themselves hold."""
    import numpy as np

    def run(x):
        y = x[:, :1]
        for axis in (2, 3, 4):
            y = np.repeat(y, scale, axis=axis)
        return y
    return run


def _one_run(path: str, dense: bool, tile: int, stand_in: bool, queue) -> None:
    import numpy as np

    import billow.infer.upres as upres
    from billow.infer import UpresConfig, load_card, make_backend, upres_frame
    from billow.infer.models import default_model
    from billow.io import ReadOptions, read_smoke_frame

    card = load_card(default_model())
    backend = make_backend(card)
    frame = read_smoke_frame(Path(path), ReadOptions())
    backend.run(np.zeros((1, len(card.inputs), 20, 20, 20), np.float32))  # arena warm-up
    run = _stand_in(card.scale) if stand_in else backend.run
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # GB (Linux: KB)
    if dense:
        upres.upres_blocks = upres._dense_passes  # the path before streaming
    start = time.perf_counter()
    builders = upres_frame(frame, run, card, UpresConfig(scale=8), tile=tile,
                           cache_up="y", settings={})
    grid = builders[0].finish()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    lo, hi = grid.evalActiveVoxelBoundingBox()
    shape = tuple(b - a + 1 for a, b in zip(lo, hi))
    out = np.zeros(shape, np.float32)
    grid.copyToArray(out, lo)
    digest = (tuple(lo), grid.activeVoxelCount(), hashlib.sha256(out.tobytes()).hexdigest())
    queue.put((seconds, peak, base, digest, out.shape))


def run(path: Path, dense: bool, tile: int, stand_in: bool):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_one_run, args=(str(path), dense, tile, stand_in, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, default=48)
    ap.add_argument("--sim", action="store_true",
                    help="a frame simulated by `billow sim` (its smoke fills part of the box) "
                    "instead of bench_upres's synthetic plume (fills the box)")
    ap.add_argument("--frame", type=int, default=40, help="with --sim: frames simulated (the "
                    "last is used)")
    ap.add_argument("--tile", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--stand-in", action="store_true",
                    help="replace the network by nearest upsampling: what the passes hold")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        if args.sim:
            from billow.sim.scenes import preset
            from billow.sim.sequence import SimSettings, simulate_sequence

            simulate_sequence(SimSettings(preset("plume", 3, 0), args.res, 3, 0),
                              f"{tmp}/smoke.####.vdb", args.frame, progress="off")
            path = Path(tmp) / f"smoke.{args.frame:04d}.vdb"
            what = f"frame {args.frame} of a simulated {args.res}^3 plume"
        else:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from bench_upres import write_plume

            path = write_plume(Path(tmp) / "plume.vdb", (args.res,) * 3)
            what = f"bench_upres's {args.res}^3 plume (its box filled end to end)"
        print(f"{what}, 8x, tile {args.tile}, "
              + ("stand-in network" if args.stand_in else "shipped model"), flush=True)
        results = {True: [], False: []}
        for _ in range(args.repeats):
            for dense in (True, False):
                results[dense].append(run(path, dense, args.tile, args.stand_in))
                r = results[dense][-1]
                print(f"  {'dense   ' if dense else 'streamed'} {r[0]:7.2f} s  peak RSS "
                      f"{r[1]:.3f} GB (model loaded: {r[2]:.3f} GB)", flush=True)
    best = {k: (min(r[0] for r in v), min(r[1] for r in v), min(r[1] - r[2] for r in v))
            for k, v in results.items()}
    same = len({r[3] for v in results.values() for r in v}) == 1
    shape = results[False][0][4]
    print(f"\n{args.res}^3 -> 8x (output box {'x'.join(map(str, shape))}), tile {args.tile}, "
          f"load average {os.getloadavg()[0]:.2f} (2-core shared machine; ratios are the "
          "figure to quote)")
    print(f"{'':10}{'seconds':>10}{'peak RSS GB':>13}{'above model GB':>16}")
    for k, name in ((True, "dense"), (False, "streamed")):
        print(f"{name:10}{best[k][0]:10.2f}{best[k][1]:13.3f}{best[k][2]:16.3f}")
    print(f"streamed / dense: time {best[False][0] / best[True][0]:.2f}x, peak RSS "
          f"{best[False][1] / best[True][1]:.2f}x, peak above the loaded model "
          f"{best[False][2] / best[True][2]:.2f}x")
    print(f"output identical (bounding box, active voxels, every value): {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
