"""Upres inference speed (issue 20 items 1-3), as ratios measured in one process on this machine.

1. The sequence job, old vs new path on the same frames: a plume simulated at RES^3 (default
   32^3 -> 128^3, the last USE frames of FRAMES, when the plume fills most of its domain), each frame read, upres'd and written as
   `billow upres` does, with the padded tile runner (every tile computes its whole window,
   the path before issue 20) and with the default core-only runner, after one warm-up frame
   each, interleaved (A B A B), best of REPEAT per frame; the outputs must be bit for bit equal. The 240-frame time is
   extrapolated from the per-frame mean (target: >= 3x).
2. Backend, precision, threads on the same frames: ONNX Runtime fp32 (the default), torch
   fp32, torch bf16 (where the CPU has bf16 instructions), at 1 and 2 threads; bf16's quality
   against fp32: mean |difference| / mean and the mass ratio.
3. Achieved multiply-adds per second: the convolution multiply-adds of the default run (counted
   exactly from the core-only pass's layer shapes on torch's meta device) over the time spent
   in the network, against a microbenchmark of the same layer shapes (torch conv3d, same
   threads, best of 3); target >= 50%.

    python benchmarks/upres_speed.py [--res 32] [--frames 60] [--use 4] [--repeat 2] [--threads 1] [--tile 48]

Timing on a shared machine is noisy: every figure is printed with the load average, and only
ratios measured in this run are meant to be compared.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def make_frames(folder: Path, res: int, frames: int) -> list[Path]:
    from billow.sim.scenes import preset
    from billow.sim.sequence import SimSettings, simulate_sequence

    pattern = str(folder / "sim" / "smoke.####.vdb")
    simulate_sequence(SimSettings(preset("plume", 3, 0), res, 3, 0), pattern, frames,
                      progress="off")
    return sorted((folder / "sim").glob("smoke.*.vdb"))


def dense(builder) -> tuple[np.ndarray, tuple]:
    grid = builder.grid
    lo, hi = grid.evalActiveVoxelBoundingBox()
    out = np.zeros(tuple(b - a + 1 for a, b in zip(lo, hi)), np.float32)
    grid.copyToArray(out, lo)
    return out, tuple(lo)


def job_frame(path: Path, run, card, cfg, tile: int, out: Path):
    """One frame as `billow upres` does it: read, upres, write. (seconds, network seconds,
    dense output)."""
    from billow.infer import upres_frame
    from billow.io import ReadOptions, read_smoke_frame, write_vdb

    start = time.perf_counter()
    frame = read_smoke_frame(path, ReadOptions())
    grids = upres_frame(frame, run, card, cfg, tile=tile, cache_up="y", settings={})
    result = dense(grids[0])
    write_vdb(out, grids)
    return time.perf_counter() - start, result, frame.density.shape


class Timed:
    """A tile runner, timing the network calls."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, x):
        start = time.perf_counter()
        y = self.fn(x)
        self.seconds += time.perf_counter() - start
        return y


def section_job(a, card, frames, folder):
    from billow.infer import UpresConfig, make_backend
    from billow.infer.backends import tile_runner

    backend = make_backend(card, threads=a.threads)
    cfg = UpresConfig(tile=a.tile)
    padded = lambda x: backend.run(x)  # a plain callable: tiles run padded (the old path)
    core = backend.run  # the backend's run: upres uses its core-only runner
    tile_runner(core, card.halo, card.scale)  # build the core-only graph outside the timing
    print(f"\n1. sequence job: {len(frames)} frames of a {a.res}^3 plume -> "
          f"{card.scale * a.res}^3, tile {a.tile}, {a.threads} thread(s), ONNX Runtime fp32, "
          f"best of {a.repeat} (load {load()})")
    for run in (padded, core):  # warm-up (ONNX Runtime's arena grows on its first calls)
        job_frame(frames[0], run, card, cfg, a.tile, folder / "warm.vdb")
    old_t, new_t, same = [], [], True
    for path in frames:
        best = {"old": 1e9, "new": 1e9}
        outs = {}
        for _ in range(a.repeat):
            for name, run in (("old", padded), ("new", core)):
                s, outs[name], box = job_frame(path, run, card, cfg, a.tile,
                                               folder / f"{name}.vdb")
                best[name] = min(best[name], s)
        equal = (outs["old"][1] == outs["new"][1]
                 and np.array_equal(outs["old"][0], outs["new"][0]))
        same &= equal
        old_t.append(best["old"])
        new_t.append(best["new"])
        print(f"   {path.name}: input box {'x'.join(map(str, box))}, old {best['old']:.2f} s, new "
              f"{best['new']:.2f} s, {best['old'] / best['new']:.2f}x, output "
              f"{'bit-identical' if equal else 'DIFFERS'} (load {load()})", flush=True)
    o, n = float(np.mean(old_t)), float(np.mean(new_t))
    print(f"   mean per frame: old {o:.2f} s, new {n:.2f} s: {o / n:.2f}x faster; 240 frames "
          f"(extrapolated from these {len(frames)}): old {240 * o / 60:.1f} min, new "
          f"{240 * n / 60:.1f} min; outputs {'all bit-identical' if same else 'DIFFER'}")
    return same


def section_backends(a, card, frames):
    from billow.infer import UpresConfig, make_backend, upres_frame
    from billow.infer.backends import cpu_has_bf16
    from billow.io import ReadOptions, read_smoke_frame

    frame = read_smoke_frame(frames[-1], ReadOptions())
    cfg = UpresConfig(tile=a.tile)
    variants = [("onnxruntime", "fp32"), ("torch", "fp32")]
    if cpu_has_bf16():
        variants.append(("torch", "bf16"))
    print(f"\n2. backend / precision / threads on {frames[-1].name} (box "
          f"{frame.density.shape}), tile {a.tile}, best of {a.repeat} (load {load()})")
    results, ref = {}, None
    for threads in (1, 2):
        made = {v: make_backend(card, v[0], precision=v[1], threads=threads) for v in variants}
        best = {v: 1e9 for v in variants}
        for _ in range(a.repeat):
            for v, b in made.items():
                start = time.perf_counter()
                out = dense(upres_frame(frame, b.run, card, cfg, tile=a.tile, cache_up="y",
                                        settings={})[0])[0]
                best[v] = min(best[v], time.perf_counter() - start)
                results[v] = out
        ref = results[("onnxruntime", "fp32")]
        base = best[("onnxruntime", "fp32")]
        for v in variants:
            print(f"   {threads} thread(s) {v[0]:11s} {v[1]}: {best[v]:6.2f} s "
                  f"({base / best[v]:.2f}x ONNX Runtime fp32) (load {load()})", flush=True)
    torch.set_num_threads(a.threads)
    if ("torch", "bf16") in results:
        got = results[("torch", "bf16")]
        print(f"   bf16 vs fp32: mean |difference| / mean {np.abs(got - ref).mean() / ref.mean():.5f}"
              f", mass ratio {got.sum() / ref.sum():.5f}, max |difference| / max "
              f"{np.abs(got - ref).max() / ref.max():.4f}")
    else:
        print("   bf16: this CPU has no bf16 instructions (skipped)")


def conv_shapes(card, tiles):
    """(input shape, weight shape) of every convolution of the core-only pass over `tiles`
    (a list of tile core shapes), from a run on torch's meta device (nothing computed)."""
    import copy

    from billow.infer.backends import torch_module_from_card
    from billow.nets import valid

    net = copy.deepcopy(torch_module_from_card(card)).to("meta")
    seen = []
    real = torch.nn.functional.conv3d

    def counting(x, w, b=None, *args, **kw):
        seen.append((tuple(x.shape), tuple(w.shape)))
        return real(x, w, b, *args, **kw)

    class F:  # the module's `F` with conv3d counted
        def __getattr__(self, name):
            return counting if name == "conv3d" else getattr(torch.nn.functional, name)

    saved, valid.F = valid.F, F()
    try:
        with torch.no_grad():
            for shape in tiles:
                x = torch.empty((1, len(card.inputs)) + tuple(n + 2 * card.halo for n in shape),
                                device="meta")
                net.forward_core(x, card.halo)
    finally:
        valid.F = saved
    return seen


def section_macs(a, card, frames):
    from billow.infer import UpresConfig, make_backend, upres_frame
    from billow.infer.backends import tile_runner
    from billow.infer.upres import input_scales
    from billow.io import ReadOptions, read_smoke_frame
    from billow.ops.tiling import occupied_tiles, plan_tiles

    backend = make_backend(card, threads=a.threads)
    timed = Timed(tile_runner(backend.run, card.halo, card.scale))
    backend.core = lambda halo, scale: timed  # upres gets the engine's runner, timed
    frame = read_smoke_frame(frames[-1], ReadOptions())
    cfg = UpresConfig(tile=a.tile)
    tiles = occupied_tiles(plan_tiles(frame.density.shape, a.tile), frame.density.data > 0,
                           card.halo)
    shapes = conv_shapes(card, [t.shape for t in tiles])
    # C_out C_in k^3 per output cell of each convolution (no padding: n - k + 1 cells)
    macs = sum(int(np.prod(w)) * int(np.prod([n - w[2] + 1 for n in x[2:]]))
               for x, w in shapes)
    best_net, best_all = 1e9, 1e9
    for _ in range(a.repeat):
        timed.seconds = 0.0
        start = time.perf_counter()
        upres_frame(frame, backend.run, card, cfg, tile=a.tile, cache_up="y", settings={})
        best_all = min(best_all, time.perf_counter() - start)
        best_net = min(best_net, timed.seconds)
    torch.set_num_threads(a.threads)
    micro = 0.0
    for x_shape, w_shape in shapes:
        x, w = torch.rand(x_shape), torch.rand(w_shape)
        b = torch.rand(w_shape[0])
        with torch.inference_mode():
            best = 1e9
            for _ in range(3):
                start = time.perf_counter()
                torch.nn.functional.conv3d(x, w, b)
                best = min(best, time.perf_counter() - start)
        micro += best
    rate_micro = macs / micro
    print(f"\n3. achieved multiply-adds per second, {frames[-1].name}, {len(tiles)} tile(s) of "
          f"at most {a.tile} cells, {a.threads} thread(s), best of {a.repeat} (load {load()})")
    print(f"   convolutions: {macs / 1e9:.2f} G multiply-adds "
          f"({macs / (card.scale ** 3 * sum(int(np.prod(t.shape)) for t in tiles)):.0f} per "
          f"output voxel)")
    print(f"   microbenchmark, torch conv3d on the same {len(shapes)} layer shapes: "
          f"{rate_micro / 1e9:.2f} GMAC/s")
    print(f"   default upres, network calls only: {macs / best_net / 1e9:.2f} GMAC/s = "
          f"{macs / best_net / rate_micro:.0%} of the microbenchmark")
    print(f"   default upres, whole frame (network, tiling, paste): {macs / best_all / 1e9:.2f} "
          f"GMAC/s = {macs / best_all / rate_micro:.0%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--res", type=int, default=32)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--use", type=int, default=4, help="last frames timed")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tile", type=int, default=None, help="default: billow upres's default")
    p.add_argument("--sections", default="1,2,3")
    a = p.parse_args()
    from billow.infer import UpresConfig, load_card
    from billow.infer.models import default_model

    a.tile = a.tile or UpresConfig().tile
    torch.set_num_threads(a.threads)
    card = load_card(default_model())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        frames = make_frames(folder, a.res, a.frames)[-a.use:]
        print(f"simulated {a.frames} frames at {a.res}^3 in {time.perf_counter() - start:.0f} s"
              f"; CPU: {os.cpu_count()} cores")
        wanted = a.sections.split(",")
        if "1" in wanted:
            section_job(a, card, frames, folder)
        if "2" in wanted:
            section_backends(a, card, frames)
        if "3" in wanted:
            section_macs(a, card, frames)


if __name__ == "__main__":
    main()
