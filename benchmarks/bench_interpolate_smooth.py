"""`billow.ops.interpolate_smooth` (per-phase low-res stencils) against its definition as written,
linear up-sampling then single-channel binomial blur convolutions, forward + backward, interleaved
A/B in one process, 1 thread (session 17: as convolutions, `--tail-upsampling smooth` cost 5x the
generator's training pass on a CPU).

    python benchmarks/bench_interpolate_smooth.py [--rounds 3]

Shapes: the generator's tail at training (a batch of 4 tiles, 16 channels, 32^3 -> 64^3, x2) and
a base (one 48^3 field -> 192^3, x4). Then what `--tail-upsampling smooth` costs a whole
training pass of the generator (`s27`'s architecture, random weights, a batch of 4 16^3 tiles,
forward + backward): smooth tail / linear tail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from billow.nets.generators import GeneratorConfig, build_generator
from billow.ops import interpolate_smooth

from tests.ops.test_interpolate_smooth import _linear_then_blur

CASES = {"tail x2 (4, 16, 32^3)": ((4, 16, 32, 32, 32), 2),
         "base x4 (1, 1, 48^3)": ((1, 1, 48, 48, 48), 4)}


def _pass(fn, x, factor) -> float:
    x = x.detach().requires_grad_(True)
    t = time.perf_counter()
    fn(x, factor).sum().backward()
    return time.perf_counter() - t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    for name, (shape, factor) in CASES.items():
        x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
        diff = (interpolate_smooth(x, factor) - _linear_then_blur(x, factor)).abs().max().item()
        ratios = [_pass(_linear_then_blur, x, factor) / _pass(interpolate_smooth, x, factor)
                  for _ in range(a.rounds)]
        print(f"{name}: linear + blur convolutions / phase stencils = "
              f"{statistics.median(ratios):.2f}x forward+backward (median of {a.rounds}, range "
              f"{min(ratios):.2f}-{max(ratios):.2f}); max |difference| {diff:.3g}")
    nets = {}
    for tail in ("linear", "smooth"):
        torch.manual_seed(0)
        nets[tail] = build_generator(GeneratorConfig(
            generator="smooth", width=32, blocks=3, normalise="frame", detail_gate="speed",
            projection="block", projection_steps=2, output_form="gain",
            base_interpolation="smooth", tail_upsampling=tail))
    x = torch.rand((4, 4, 16, 16, 16), generator=torch.Generator().manual_seed(0))
    x[:, 1:] -= 0.5

    def train_pass(g) -> float:
        t = time.perf_counter()
        g(x).sum().backward()
        return time.perf_counter() - t

    ratios = [train_pass(nets["smooth"]) / train_pass(nets["linear"]) for _ in range(a.rounds)]
    print(f"generator training pass (4 x 16^3 tiles): smooth tail / linear tail = "
          f"{statistics.median(ratios):.2f}x (median of {a.rounds}, range "
          f"{min(ratios):.2f}-{max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
