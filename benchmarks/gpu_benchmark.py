"""The GPU path measured (issue 20): one command for a CUDA machine.

    python benchmarks/gpu_benchmark.py                        # on a CUDA machine, ~5-10 min
    python benchmarks/gpu_benchmark.py --json gpu.json        # also the figures as JSON
    python benchmarks/gpu_benchmark.py --device cpu --size 8 --paper-size 2 --frames 2  # the
                                                              # script itself, small, on a CPU

Without a CUDA device (and without `--device cpu`) it prints one line saying why it skipped
and exits 0. On a CUDA machine it runs, in order:

1. **the GPU tests**: every test that skips for lack of a GPU (`tests/sim/test_cuda.py`, the
   bf16 trainer, UV optimise/lookup on CUDA, the CUDA upres and add-on cases), as `pytest -rs`,
   and reports passed/skipped/failed;
2. **upres compute per frame**, 64^3 -> 256^3 (`--size`): the shipped model (the default
   `smoke3d_x4`, its card's architecture and weights) as one whole padded frame in torch fp32,
   fp16 and bf16, and through ONNX Runtime's CUDA and TensorRT providers where this
   onnxruntime has them; the paper generator (App. A.1) in fp32 on the same GPU. Compute only:
   input already on the GPU, synchronised, best of `--repeats` after a warm-up. Goal: <= 0.1 s
   per 256^3 frame;
3. **upres end to end**: `billow upres --device cuda` over `--frames` frames of a 64^3 plume
   (torch fp16 and ONNX Runtime), seconds per frame, with the VDB read + write of one frame
   timed separately (I/O, on the CPU whatever the device);
4. **the solver**: `benchmarks/bench_sim.py --gpu` (native CUDA kernels, 128^3 and 256^3);
5. **re-texturing**: the CUDA lookup kernel at 1920x1080, frames per second.

Every figure is printed with the GPU's name; nothing is compared against a figure from another
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.1  # compute seconds per 256^3 output frame (issue 20)
GPU_TESTS = ["tests/sim/test_cuda.py", "tests/train/test_trainer.py", "tests/uv/test_optimise.py",
             "tests/uv/test_lookup.py", "tests/infer/test_upres_cli.py"]


def sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def best_time(fn, device: str, repeats: int) -> float:
    fn()  # warm-up (cuDNN autotuning, allocations)
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - t)
    return best


def run_gpu_tests() -> dict:
    """The tests that skip without a GPU, run where there is one."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *GPU_TESTS]
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    tail = (out.stdout.strip().splitlines() or ["(no output)"])[-1]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|error)", tail)}
    skips = [ln for ln in out.stdout.splitlines() if ln.startswith("SKIPPED")]
    return {"command": " ".join(cmd[2:]), "summary": tail, "counts": counts,
            "skipped": skips, "seconds": time.perf_counter() - t, "rc": out.returncode}


def shipped_generator():
    """(torch module, card) of the default model, built from its card (billow's own loader)."""
    from billow.infer.backends import torch_module_from_card
    from billow.io.model_card import load_card
    from billow.infer.models import default_model

    card = load_card(default_model())
    return torch_module_from_card(card), card


def frame_input(size: int, halo: int, channels: int, device: str):
    import torch

    g = torch.Generator().manual_seed(0)
    n = size + 2 * halo
    x = torch.rand(1, channels, n, n, n, generator=g)
    x[:, 1:] -= 0.5  # velocity of both signs
    return x.to(device)


def bench_compute(size: int, device: str, repeats: int, paper_size: int = 0) -> list[dict]:
    """Seconds of network compute for one size^3 -> (4 size)^3 frame, per configuration."""
    import torch
    from billow.nets import GeneratorConfig, build_generator

    rows = []
    net, card = shipped_generator()
    x = frame_input(size, card.halo, len(card.inputs), device)
    precisions = ["fp32"] + (["fp16", "bf16"] if device == "cuda" else [])
    for prec in precisions:
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[prec]
        m = net.to(device, dtype).eval()
        xi = x.to(dtype)
        with torch.inference_mode():
            s = best_time(lambda: m(xi), device, repeats)
        rows.append({"what": f"shipped {card.name}", "backend": f"torch {prec}", "s": s})
    rows += bench_onnx(card, x.cpu().numpy(), device, repeats)
    # the paper generator at full resolution needs 64-channel 5^3 convolutions over the whole
    # output; timed on a quarter-size input and scaled per output voxel (stated in the row)
    paper = build_generator(GeneratorConfig(generator="paper", dim=3)).to(device).eval()
    small = paper_size or max(size // 2, 4)
    xp = frame_input(small, paper.receptive_radius, 4, device)
    with torch.inference_mode():
        s = best_time(lambda: paper(xp), device, max(1, repeats // 2))
    rows.append({"what": "paper generator (App. A.1)", "backend": "torch fp32",
                 "s": s * (size / small) ** 3, "note": f"timed at {small}^3 input, x{(size / small) ** 3:.0f}"})
    return rows


def bench_onnx(card, x, device: str, repeats: int) -> list[dict]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted = ["CUDAExecutionProvider", "TensorrtExecutionProvider"] if device == "cuda" \
        else ["CPUExecutionProvider"]
    rows = []
    for provider in wanted:
        if provider not in available:
            rows.append({"what": f"shipped {card.name}", "backend": f"onnxruntime {provider}",
                         "s": None, "note": f"not in this onnxruntime ({', '.join(available)})"})
            continue
        sess = ort.InferenceSession(str(card.path), providers=[provider])
        name = sess.get_inputs()[0].name
        # compute only: bind the input on the device once (I/O binding), outputs stay there
        binding = sess.io_binding()
        if device == "cuda":
            value = ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0)
            binding.bind_ortvalue_input(name, value)
            binding.bind_output(sess.get_outputs()[0].name, "cuda")
        else:
            binding.bind_cpu_input(name, x)
            binding.bind_output(sess.get_outputs()[0].name)
        s = best_time(lambda: sess.run_with_iobinding(binding), "cpu", repeats)
        rows.append({"what": f"shipped {card.name}", "backend": f"onnxruntime {provider}", "s": s})
    return rows


def bench_end_to_end(size: int, frames: int, device: str) -> list[dict]:
    """`billow upres` over a short sequence; one frame's VDB read + write timed separately."""
    from billow.io import read_grid, read_smoke_frame, write_vdb
    from billow.samples import write_plume

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        first = write_plume(src / "plume.0001.vdb", n=size)
        for f in range(2, frames + 1):
            os.link(first, src / f"plume.{f:04d}.vdb")
        t = time.perf_counter()
        frame = read_smoke_frame(first)
        read_s = time.perf_counter() - t
        configs = [("onnxruntime", "fp32")] + ([("torch", "fp16")] if device == "cuda" else [])
        for backend, prec in configs:
            out = Path(tmp) / f"out_{backend}_{prec}"
            cmd = [sys.executable, "-m", "billow", "upres", str(src / "plume.####.vdb"),
                   str(out / "up.####.vdb"), "--device", device, "--backend", backend,
                   "--precision", prec, "--progress", "none"]
            t = time.perf_counter()
            res = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.perf_counter() - t
            if res.returncode != 0:
                rows.append({"what": f"billow upres {backend} {prec}", "s_per_frame": None,
                             "note": (res.stderr.strip().splitlines() or ["?"])[-1]})
                continue
            rows.append({"what": f"billow upres {backend} {prec}", "s_per_frame": wall / frames,
                         "note": f"{frames} frames, process start and model load included"})
        out_frame = next(iter(sorted((Path(tmp) / "out_onnxruntime_fp32").glob("*.vdb"))), None)
        if out_frame is not None:
            big = read_grid(out_frame, "density")
            t = time.perf_counter()
            write_vdb(Path(tmp) / "io_probe.vdb", [big])
            write_s = time.perf_counter() - t
            rows.append({"what": "I/O: read input frame + write output frame", "s_per_frame":
                         read_s + write_s, "note": f"read {read_s:.3f} s, write {write_s:.3f} s "
                         f"({big.data.size / 1e6:.1f} M voxels)"})
    return rows


def bench_solver(device: str) -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_sim.py"), "--sizes", "64",
           "--backends", "native", "--no-dataset"] + (["--gpu"] if device == "cuda" else [])
    res = subprocess.run(cmd, capture_output=True, text=True)
    return {"command": " ".join(cmd[1:]), "output": res.stdout.strip(), "rc": res.returncode,
            "error": res.stderr.strip().splitlines()[-1:] if res.returncode else []}


def bench_retexture(device: str, repeats: int) -> dict:
    import torch
    from billow.uv.lookup import retexture

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_retexture import scene

    h, w = 1080, 1920
    texture, uv, mask, plate = scene(h, w, "figure")
    args = [torch.from_numpy(a).to(device) for a in (texture, uv, mask, plate)]
    s = best_time(lambda: retexture(*args), device, repeats)
    return {"what": f"retexture kernel {w}x{h}", "fps": 1.0 / s}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument("--size", type=int, default=64, help="low-res cells per axis (default 64)")
    ap.add_argument("--frames", type=int, default=8, help="frames of the end-to-end run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--paper-size", type=int, default=0,
                    help="input cells per axis of the paper generator's timing (default: size/2)")
    ap.add_argument("--no-tests", action="store_true", help="skip running the GPU tests")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_benchmark: skipped: no CUDA device here (torch.cuda.is_available() is "
              f"False, torch {torch.__version__}); run it on a CUDA machine")
        return 0
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else \
        f"CPU, {os.cpu_count()} cores (script check only: not a GPU figure)"
    print(f"device: {name}; torch {torch.__version__}")
    report: dict = {"device": name, "size": args.size}
    if args.device == "cuda" and not args.no_tests:
        report["tests"] = run_gpu_tests()
        print(f"GPU tests: {report['tests']['summary']}")
        for line in report["tests"]["skipped"]:
            print(f"  {line}")
    out = args.size * 4
    report["compute"] = bench_compute(args.size, args.device, args.repeats, args.paper_size)
    print(f"\nupres compute, {args.size}^3 -> {out}^3, one whole padded frame (goal <= "
          f"{GOAL_S} s per 256^3 frame):")
    for r in report["compute"]:
        per256 = r["s"] * (256 / out) ** 3 if r["s"] is not None else None
        r["s_per_256_frame"] = per256
        fig = f"{r['s']:.4f} s  ({per256:.4f} s per 256^3)" if r["s"] is not None else "-"
        mark = "" if per256 is None else ("  meets goal" if per256 <= GOAL_S else "  misses goal")
        print(f"  {r['what']:<30} {r['backend']:<40} {fig}{mark}  {r.get('note', '')}")
    report["end_to_end"] = bench_end_to_end(args.size, args.frames, args.device)
    print("\nupres end to end:")
    for r in report["end_to_end"]:
        s = f"{r['s_per_frame']:.3f} s/frame" if r["s_per_frame"] is not None else "failed"
        print(f"  {r['what']:<45} {s}  {r.get('note', '')}")
    report["solver"] = bench_solver(args.device)
    print(f"\nsolver ({report['solver']['command']}):\n{report['solver']['output']}")
    report["retexture"] = bench_retexture(args.device, args.repeats)
    print(f"\n{report['retexture']['what']}: {report['retexture']['fps']:.0f} fps")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
