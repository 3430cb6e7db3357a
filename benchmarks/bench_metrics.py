"""Throughput of the evaluation metrics and baselines per frame, at 128^3 and (with --sizes)
256^3 high-res: prints seconds per frame and million voxels per second for each metric, and how
many seconds a whole `billow eval` costs per frame and method.

    python benchmarks/bench_metrics.py                # 64^3 and 128^3
    python benchmarks/bench_metrics.py --sizes 256    # 256^3 (about 2 GB of RAM)
"""

from __future__ import annotations

import argparse
import time

import torch

from billow.baselines import make_baseline
from billow.ops import upsample_velocity
from billow.metrics import input_fidelity, l1, mass_ratio, psnr, radial_spectrum, render
from billow.metrics.temporal import coherence, high_pass
from billow.ops import downsample


def timed(fn, repeat: int) -> float:
    fn()  # warm-up (caches, allocator)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,128", help="high-res edge lengths")
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, factor {args.factor}")
    g = torch.Generator().manual_seed(0)
    for n in (int(s) for s in args.sizes.split(",")):
        f = args.factor
        y = torch.rand((n, n, n), generator=g)
        y2 = torch.roll(y, 1, 0)
        x = downsample(y[None, None], f)[0, 0]
        v_lr = torch.randn((3, n // f, n // f, n // f), generator=g) * 0.5
        v = upsample_velocity(v_lr, f)
        hp_prev = high_pass(y, f)
        rows = {
            "l1 + psnr": lambda: (l1(y, y2), psnr(y, y2)),
            "input fidelity + mass": lambda: (input_fidelity(y, x, f), mass_ratio(y, x, f)),
            "spectrum": lambda: radial_spectrum(y),
            # as `billow eval` runs it: the previous frame's high-pass is carried over
            "residual + flicker + detail res.": lambda: coherence(y, y2, v, f,
                                                                  hp_previous=hp_prev),
            "render": lambda: render(y),
            "baseline tricubic": lambda: make_baseline("tricubic", f).step(x, v_lr),
        }
        wavelet = make_baseline("wavelet", f)
        wavelet.step(x, v_lr)
        rows["baseline wavelet (per frame)"] = lambda: wavelet.step(x, v_lr)
        total = 0.0
        print(f"\n{n}^3 ({n ** 3 / 1e6:.1f} M voxels)")
        for name, fn in rows.items():
            s = timed(fn, args.repeat)
            if not name.startswith("baseline"):
                total += s
            print(f"  {name:34s} {s:8.3f} s/frame  {n ** 3 / s / 1e6:8.1f} M voxels/s")
        print(f"  {'all metrics of one method':34s} {total:8.3f} s/frame")


if __name__ == "__main__":
    main()
