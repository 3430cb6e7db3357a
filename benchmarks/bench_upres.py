"""Upres engine benchmarks, as ratios measured in one run on this machine.

1. Dense vs sparse: a plume filling about a quarter of its domain. Dense runs every tile of
   the whole domain, as an engine without sparsity would; sparse (billow's default) reads the
   active bounding box only and skips tiles with no smoke in reach (target: >= 3x faster).
2. Peak resident memory of a large frame (default 256x180x180 -> 1024x720x720, the
   dissertation's largest, Fig. 3.10) with the output written sparsely (target: < 8 GB).

    python benchmarks/bench_upres.py [--model engine/billow/models/smoke3d_x4.onnx] [--size 64] [--big]

Prints seconds, output voxels per second and the ratios. Any ONNX model with a card works;
speed does not depend on the weights, so an untrained export measures the same engine cost.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from billow.infer import UpresConfig, load_card, make_backend, upres_frame
from billow.infer.models import default_model
from billow.io import ReadOptions, Volume, read_smoke_frame, write_vdb


def plume(shape, seed=0):
    """Synthetic smoke: a rising column with lumpy noise occupying ~1/4 of the box, plus a
    rising velocity (world units per second)."""
    rng = np.random.default_rng(seed)
    idx = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"), -1)
    # a rising column in the middle of its domain, as plume caches usually are
    r = np.sqrt(idx[..., 0] ** 2 + idx[..., 2] ** 2)
    column = np.clip(1.0 - r / 0.58, 0, 1) * (idx[..., 1] < 0.9)
    noise = rng.random(tuple(max(-(-n // 8), 2) for n in shape))
    noise = np.kron(noise, np.ones((8, 8, 8)))[tuple(slice(0, n) for n in shape)]
    density = (column * (0.5 + 0.5 * noise)).astype(np.float32)
    velocity = np.zeros(shape + (3,), np.float32)
    velocity[..., 1] = 0.5 * (density > 0)
    return density, velocity


def write_plume(path: Path, shape) -> Path:
    d, v = plume(shape)
    m = np.diag([0.01, 0.01, 0.01, 1.0])
    return write_vdb(path, [Volume("density", d, (0, 0, 0), m), Volume("vel", v, (0, 0, 0), m)])


def timed_upres(frame, backend, card, **cfg):
    start = time.perf_counter()
    builders = upres_frame(frame, backend.run, card, UpresConfig(**cfg), tile=cfg.get("tile", 32),
                           cache_up="y", settings={})
    voxels = sum(b.finish().activeVoxelCount() for b in builders[:1])
    return time.perf_counter() - start, voxels


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--size", type=int, default=64, help="input size of the dense/sparse test")
    ap.add_argument("--big", action="store_true", help="also run the 256x180x180 memory test")
    args = ap.parse_args()
    model = Path(args.model) if args.model else default_model()
    card = load_card(model)
    backend = make_backend(card)
    print(f"model: {card.describe()}")
    with tempfile.TemporaryDirectory() as tmp:
        n = args.size
        frame = read_smoke_frame(write_plume(Path(tmp) / "p.vdb", (n, n, n)), ReadOptions())
        d, v = plume((n, n, n))
        whole = replace(frame, density=frame.density.with_data(d, offset=(0, 0, 0)),
                        velocity=frame.velocity.with_data(v / 0.01 / 24, offset=(0, 0, 0)))
        occupancy = (d > 0).mean()
        dense_s, _ = timed_upres(whole, backend, card, tile=48, sparse=False)
        sparse_s, vox = timed_upres(frame, backend, card, tile=48, sparse=True)
        out_voxels = d.size * card.scale**3
        print(f"dense vs sparse, domain {d.shape} -> x{card.scale}, smoke in {occupancy:.0%} of "
              f"the domain (active bounding box {frame.density.shape}):")
        print(f"  dense  {dense_s:8.2f} s  ({out_voxels / dense_s / 1e6:.2f} M output voxels/s)")
        print(f"  sparse {sparse_s:8.2f} s  -> sparse is {dense_s / sparse_s:.1f}x faster")
        if args.big:
            shape = (256, 180, 180)
            frame = read_smoke_frame(write_plume(Path(tmp) / "big.vdb", shape), ReadOptions())
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            secs, vox = timed_upres(frame, backend, card, tile=48)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            print(f"big frame {shape} -> {tuple(card.scale * s for s in shape)}: {secs:.0f} s, "
                  f"{vox / 1e6:.0f} M active output voxels, peak resident memory {peak:.2f} GB "
                  f"(before: {before:.2f} GB; target < 8 GB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
