"""Preview and re-run latency of the Blender add-on: a cold engine per run against the warm engine.

One frame of a 64^3 smoke cache is upres'd the way Preview does it (`--frames 1`, the default),
or a short sequence the way Upres re-runs it after a Detail change (`--frames 4`): cold =
`billow upres ...` in a fresh process (what every Preview paid before, and what Upres pays with
no warm engine running), warm = the same command line sent to one `billow serve` process
started (and its model loaded) once. Every run changes Detail (--velocity-scale 1.0, 1.5,
2.0...), as the artist's re-runs do. Both go through the add-on's own plain-Python client
(plugin_blender/core: EngineJob, EngineServer/ServerJob), so the figures include process
start-up, imports, model load, reading, compute and writing; cold and warm runs alternate, so
a load change on a shared machine falls on both.

    python benchmarks/preview_latency.py [--model M.onnx] [--repeats 3] [--size 64] [--frames 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_cache(folder: Path, n: int, frames: int = 1) -> Path:
    """`frames` frames of a few soft blobs (a 0-1 plume-like density) rising one voxel per
    frame; the sequence pattern (`smoke.####.vdb`)."""
    from billow.io import Volume, write_vdb

    idx = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).astype(np.float32)
    rng = np.random.default_rng(0)
    blobs = [(rng.uniform(0.25 * n, 0.75 * n, 3), rng.uniform(0.08 * n, 0.18 * n))
             for _ in range(6)]
    m = np.diag([1.0 / n] * 3 + [1.0])
    for f in range(1, frames + 1):
        d = np.zeros((n, n, n), np.float32)
        for c, r in blobs:
            d += np.exp(-((idx - c - (0, f - 1, 0)) ** 2).sum(-1) / r**2)
        d = np.clip(d, 0, 1) * (d > 0.02)
        v = np.zeros((n, n, n, 3), np.float32)
        v[..., 1] = 1.5 * d  # rising, world units/s
        write_vdb(folder / f"smoke.{f:04d}.vdb",
                  [Volume("density", d, (0, 0, 0), m),
                   Volume("vel", v, (0, 0, 0), m, vector_type="contravariant relative")])
    return folder / "smoke.####.vdb"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="default: the engine's shipped model")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--frames", type=int, default=1,
                    help="1: a one-frame preview; more: a sequence re-run (default: 1)")
    args = ap.parse_args(argv)

    import os

    from plugin_blender.core.command import UpresRequest, upres_argv
    from plugin_blender.core.job import EngineJob
    from plugin_blender.core.server import EngineServer, ServerJob

    prefix = [sys.executable, "-m", "billow"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # keep PYTHONPATH: this checkout's engine
    frames = tuple(range(1, args.frames + 1))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = make_cache(tmp, args.size, args.frames)

        def argv(tag, detail):
            req = UpresRequest(str(src), str(tmp / tag / "smoke_x4.####.vdb"), frames,
                               args.model, 4, detail, None, "cpu", "y", 24.0)
            return upres_argv(prefix, req)

        def timed(job):
            t = time.perf_counter()
            snap = job.start().wait()
            if snap.state != "done" or snap.done != len(frames):
                raise SystemExit(f"{job.via} run failed: {snap.error or snap}")
            return time.perf_counter() - t

        t = time.perf_counter()
        server = EngineServer(prefix, ("--model", args.model) if args.model else (),
                              env=env).start()
        if not server.wait_ready(600):
            raise SystemExit("the warm engine did not start")
        startup = time.perf_counter() - t
        cold, warm = [], []
        for k in range(args.repeats):
            detail = 1.0 + 0.5 * k  # a Detail change before every run
            cold.append(timed(EngineJob(argv(f"cold{k}", detail), env=env)))
            warm.append(timed(ServerJob(server, argv(f"warm{k}", detail)[len(prefix):])))
        server.close()
    med_c, med_w = statistics.median(cold), statistics.median(warm)
    what = ("preview of one" if args.frames == 1
            else f"re-run after a Detail change of {args.frames}")
    print(f"{what} {args.size}^3 frame{'s' * (args.frames > 1)} -> {4 * args.size}^3, model "
          f"{args.model or 'shipped default'}, {args.repeats} runs each")
    print(f"cold (new engine process per run): {', '.join(f'{x:.2f}' for x in cold)} s; "
          f"median {med_c:.2f} s")
    print(f"warm engine start-up (once, model loaded): {startup:.2f} s")
    print(f"warm (billow serve, model loaded): {', '.join(f'{x:.2f}' for x in warm)} s; "
          f"median {med_w:.2f} s")
    print(f"saved per run: {med_c - med_w:.2f} s ({med_c / med_w:.2f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
