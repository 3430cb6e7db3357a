"""`billow.ops.gaussian_blur` (shifted multiply-adds) against the single-channel convolutions
it replaced, interleaved A/B in one process, 1 thread (issue 20: the blur was half of
`billow eval`'s time).

    python benchmarks/bench_blur.py [--size 192] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.ops.test_blur import conv_blur  # noqa: E402  (the previous implementation)

from billow.ops import gaussian_blur  # noqa: E402
from billow.ops.downsample import blur_sigma  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=192)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(1)
    x = torch.rand(1, 1, a.size, a.size, a.size)
    sigma = blur_sigma(4)
    diff = (gaussian_blur(x, sigma) - conv_blur(x, sigma)).abs().max().item()
    ratios = []
    for _ in range(a.rounds):
        t = time.perf_counter()
        conv_blur(x, sigma)
        old = time.perf_counter() - t
        t = time.perf_counter()
        gaussian_blur(x, sigma)
        ratios.append(old / (time.perf_counter() - t))
    print(f"{a.size}^3, sigma {sigma:.3f}: convolutions / shifted multiply-adds = "
          f"{statistics.median(ratios):.2f}x (median of {a.rounds}, range "
          f"{min(ratios):.2f}-{max(ratios):.2f}); max |difference| {diff:.3g} (0: bit-identical; "
          "from 160^3 up the convolution runs a fused multiply-add kernel)")


if __name__ == "__main__":
    main()
