"""Smoke solver speed: seconds per step of the preset plume at 64^3 and 128^3 (native and torch
kernels), against mantaflow's C++/OpenMP plume on the same 2-core CPU (MacCormack advection,
MIC-preconditioned CG: about 0.10 s/step at 64^3 and 1.6 s/step at 128^3). Target: no slower
than mantaflow at 128^3. Also the time to generate the default training set (`billow dataset`:
20 sims x 120 frames at 128^3), extrapolated from a measured subset of one simulation.

    python benchmarks/bench_sim.py                  # everything (several minutes)
    python benchmarks/bench_sim.py --sizes 64 --backends native --no-dataset

A step is one solver step with dt = 1 frame (mantaflow's plume also takes one step per
frame): density inflow, MacCormack advection of density and velocity, buoyancy, vorticity
confinement, pressure projection. The flow is developed for a few frames first, because the
pressure solve gets harder as the plume speeds up. Wall seconds depend on what else runs on the
machine: the load average is printed; process CPU seconds are printed too.
"""

from __future__ import annotations

import argparse
import os
import time

MANTAFLOW = {64: 0.10, 128: 1.6}  # s/step, mantaflow plume on this CPU (issue 3)


def bench_steps(res: int, backend: str, steps: int, warmup: int, device: str = "cpu",
                precond: str = "mic") -> dict:
    from billow.sim import Domain, PressureConfig, Solver, SolverConfig, preset

    solver = Solver(Domain((res,) * 3), preset("plume", 3),
                    SolverConfig(backend="native", device=device),
                    PressureConfig(preconditioner=precond))
    for _ in range(warmup):  # develop the flow with the fast path
        solver.step(1.0)
        solver.state.frame += 1
    solver.config = SolverConfig(backend=backend, device=device)
    solver.projection.backend = backend
    if device != "cpu":
        import torch

        torch.cuda.synchronize()
    for k in solver.timings:
        solver.timings[k] = 0.0
    iters = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        iters += solver.step(1.0)["iterations"]
        solver.state.frame += 1
    if device != "cpu":
        import torch

        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"s_per_step": wall / steps, "cpu_per_step": cpu / steps, "cg": iters / steps,
            "split": {k: v / steps for k, v in solver.timings.items()}}


def bench_dataset(frames: int) -> dict:
    """One default-size simulation for `frames` frames, with the low-res derivation, the float16
    conversion and the compressed write, timed; extrapolated to 20 sims x 120 frames."""
    import tempfile

    import numpy as np
    from billow.sim.dataset import DatasetConfig, simulate_pair
    from billow.sim.scenes import random_scene

    cfg = DatasetConfig(frames=frames)
    scene = random_scene(17, 3)
    t0 = time.perf_counter()
    arrays = simulate_pair(cfg, scene)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "sim.npz"), "wb") as f:
            np.savez_compressed(f, **arrays)
        size = os.path.getsize(os.path.join(tmp, "sim.npz"))
    t2 = time.perf_counter()
    per_frame = (t1 - t0) / frames + (t2 - t1) / frames
    total = per_frame * 20 * 120
    return {"frames": frames, "sim_s_per_frame": (t1 - t0) / frames,
            "write_s_per_frame": (t2 - t1) / frames, "mb_per_frame": size / frames / 2**20,
            "extrapolated_hours": total / 3600}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--backends", nargs="+", default=["native", "torch"])
    parser.add_argument("--preconditioners", nargs="+", default=["mic"],
                        help="CG preconditioners to time (mic, multigrid, jacobi)")
    parser.add_argument("--dataset-frames", type=int, default=24)
    parser.add_argument("--no-dataset", action="store_true")
    parser.add_argument("--gpu", action="store_true",
                        help="also steps per second on CUDA at 128^3 and 256^3 (Jacobi-PCG)")
    args = parser.parse_args()

    import torch
    from billow._native import kernels

    print(f"threads: OpenMP {kernels().openmp_threads()}, torch {torch.get_num_threads()}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(default)')}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'size':>6} {'backend':>7} {'precond':>9} {'s/step':>8} {'cpu s':>7} {'CG it':>6} "
          f"{'advect':>7} {'forces':>7} {'press.':>7} {'mantaflow':>9} {'ours/manta':>10}")
    for res in args.sizes:
        for backend, precond in [(b, p) for b in args.backends for p in args.preconditioners]:
            native = backend == "native"
            steps = (10 if res <= 64 else 4) if native else (2 if res <= 64 else 1)
            r = bench_steps(res, backend, steps, warmup=30 if res <= 64 else 20, precond=precond)
            ref = MANTAFLOW.get(res)
            ratio = f"{r['s_per_step'] / ref:10.2f}" if ref else f"{'-':>10}"
            sp = r["split"]
            print(f"{res:>5}^3 {backend:>7} {precond:>9} {r['s_per_step']:8.3f} {r['cpu_per_step']:7.3f} "
                  f"{r['cg']:6.1f} {sp['advection']:7.3f} {sp['forces']:7.3f} "
                  f"{sp['pressure']:7.3f} {ref or '-':>9} {ratio}", flush=True)
    if args.gpu:
        if not torch.cuda.is_available():
            print("GPU: no CUDA device; skipped")
        else:
            for res in (128, 256):
                r = bench_steps(res, "native", 10, warmup=10, device="cuda")
                print(f"GPU {res}^3: {1 / r['s_per_step']:.1f} steps/s "
                      f"({r['s_per_step']:.3f} s/step, {r['cg']:.0f} CG iterations/step)")
    if not args.no_dataset:
        d = bench_dataset(args.dataset_frames)
        print(f"default training set (20 sims x 120 frames, 128^3, factor 4): "
              f"{d['extrapolated_hours']:.2f} h, extrapolated from {d['frames']} measured frames "
              f"of one simulation ({d['sim_s_per_frame']:.2f} s/frame simulating + deriving, "
              f"{d['write_s_per_frame']:.2f} s/frame compressing, {d['mb_per_frame']:.1f} MB/frame"
              " on disk; early frames have less smoke, so this is a rough figure)")


if __name__ == "__main__":
    main()
