"""Output voxels per second of the fast and the paper generator in 3D, same CPU, same run.

    python benchmarks/bench_generators.py [--threads 2] [--fast-size 32] [--paper-size 12]
                                          [--fast-config shipped|default]

The fast generator is built as the shipped model's card describes it (`architecture.model` of
engine/billow/models/smoke3d_x4.json; `--fast-config default` takes GeneratorConfig's defaults instead).

Prints both rates and their ratio (target: fast >= 30x paper). Inference mode, float32,
batch 1, random input (density + velocity); each figure is the best of `--repeats` timed
runs after one warm-up run.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from billow.nets import GeneratorConfig, build_generator, count_parameters


def rate(kind: str, size: int, repeats: int, **kw) -> tuple[float, int, float]:
    cfg = GeneratorConfig(generator=kind, dim=3, **kw)
    g = build_generator(cfg).eval()
    x = torch.rand(1, cfg.in_channels, size, size, size)
    best = float("inf")
    with torch.inference_mode():
        y = g(x)  # warm-up
        for _ in range(repeats):
            t = time.perf_counter()
            y = g(x)
            best = min(best, time.perf_counter() - t)
    return y.numel() / best, count_parameters(g), best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fast-size", type=int, default=32, help="low-res input cells per axis")
    ap.add_argument("--paper-size", type=int, default=12, help="low-res input cells per axis")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fast-config", choices=("shipped", "default"), default="shipped",
                    help="fast generator: the shipped model's architecture or the defaults")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cpu = platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {args.threads} threads, {cpu}")
    kw = {}
    if args.fast_config == "shipped":
        import json
        from pathlib import Path

        card = Path(__file__).resolve().parents[1] / "engine/billow/models/smoke3d_x4.json"
        kw = {k: v for k, v in json.loads(card.read_text())["architecture"]["model"].items()
              if k not in ("generator", "dim")}
        print(f"fast generator as shipped ({card.name}): {kw}")
    fast, fp, ft = rate("fast", args.fast_size, args.repeats, **kw)
    print(f"fast  generator: {fp:>9,} parameters, {args.fast_size}^3 -> "
          f"{4 * args.fast_size}^3 in {ft:.3f} s: {fast / 1e6:.3f} M output voxels/s")
    paper, pp, pt = rate("paper", args.paper_size, max(1, args.repeats - 1))
    print(f"paper generator: {pp:>9,} parameters, {args.paper_size}^3 -> "
          f"{4 * args.paper_size}^3 in {pt:.3f} s: {paper / 1e6:.3f} M output voxels/s")
    print(f"ratio fast / paper: {fast / paper:.1f}x (target >= 30x)")


if __name__ == "__main__":
    main()
