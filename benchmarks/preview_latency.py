"""Preview latency of the Blender add-on: a cold engine per preview against the warm engine.

One frame of a 64^3 smoke cache is upres'd the way Preview does it: cold = `billow upres ...
--frames N` in a fresh process (what every Preview paid before), warm = the same command line
sent to one `billow serve` process started (and its model loaded) once. Both go through the
add-on's own plain-Python client (plugin_blender/core: EngineJob, EngineServer/ServerJob), so
the figures include process start-up, imports, model load, reading, compute and writing.

    python benchmarks/preview_latency.py [--model M.onnx] [--repeats 3] [--size 64]
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


def make_cache(folder: Path, n: int) -> Path:
    from billow.io import Volume, write_vdb

    idx = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).astype(np.float32)
    rng = np.random.default_rng(0)
    d = np.zeros((n, n, n), np.float32)
    for _ in range(6):  # a few soft blobs: a 0-1 plume-like density
        c, r = rng.uniform(0.25 * n, 0.75 * n, 3), rng.uniform(0.08 * n, 0.18 * n)
        d += np.exp(-((idx - c) ** 2).sum(-1) / r**2)
    d = np.clip(d, 0, 1) * (d > 0.02)
    v = np.zeros((n, n, n, 3), np.float32)
    v[..., 1] = 1.5 * d  # rising, world units/s
    m = np.diag([1.0 / n] * 3 + [1.0])
    path = folder / "smoke.0001.vdb"
    write_vdb(path, [Volume("density", d, (0, 0, 0), m),
                     Volume("vel", v, (0, 0, 0), m, vector_type="contravariant relative")])
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="default: the engine's shipped model")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args(argv)

    from plugin_blender.core.command import UpresRequest, upres_argv
    from plugin_blender.core.job import EngineJob
    from plugin_blender.core.server import EngineServer, ServerJob

    prefix = [sys.executable, "-m", "billow"]
    env = None
    import os

    env = dict(os.environ, PYTHONUNBUFFERED="1")  # keep PYTHONPATH: this checkout's engine
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = make_cache(tmp, args.size)

        def argv(tag, detail):
            req = UpresRequest(str(src), str(tmp / f"out_{tag}.vdb"), None, args.model, 4,
                               detail, None, "cpu", "y", 24.0)
            return upres_argv(prefix, req)

        cold = []
        for k in range(args.repeats):
            t = time.perf_counter()
            snap = EngineJob(argv(f"cold{k}", 1.0 + 0.5 * k), env=env).start().wait()
            cold.append(time.perf_counter() - t)
            if snap.state != "done":
                raise SystemExit(f"cold run failed: {snap.error}")
        t = time.perf_counter()
        server = EngineServer(prefix, ("--model", args.model) if args.model else (),
                              env=env).start()
        if not server.wait_ready(600):
            raise SystemExit("the warm engine did not start")
        startup = time.perf_counter() - t
        warm = []
        for k in range(args.repeats):
            t = time.perf_counter()
            snap = ServerJob(server, argv(f"warm{k}", 1.0 + 0.5 * k)[len(prefix):]).start().wait()
            warm.append(time.perf_counter() - t)
            if snap.state != "done":
                raise SystemExit(f"warm run failed: {snap.error}")
        server.close()
    med_c, med_w = statistics.median(cold), statistics.median(warm)
    print(f"preview of one {args.size}^3 frame -> {4 * args.size}^3, model "
          f"{args.model or 'shipped default'}, {args.repeats} runs each")
    print(f"cold (new engine process per preview): {', '.join(f'{x:.2f}' for x in cold)} s; "
          f"median {med_c:.2f} s")
    print(f"warm engine start-up (once, model loaded): {startup:.2f} s")
    print(f"warm (billow serve, model loaded):     {', '.join(f'{x:.2f}' for x in warm)} s; "
          f"median {med_w:.2f} s")
    print(f"saved per preview: {med_c - med_w:.2f} s ({med_c / med_w:.2f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
