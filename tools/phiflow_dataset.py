"""Training data from a third-party solver (issue 17): PhiFlow smoke written as a `billow dataset`
folder, to train alongside billow's own (`billow train --data mixed96 --data THIS`).

    python tools/phiflow_dataset.py --out /work/data/phi96 --sims 24 --res 96 --frames 60 \
        --lr-box --lr-sim

Each simulation is a randomised scene of `tools/phiflow_scenes.py` (families `blobs`, `plumes`,
`puffs`, or `mixed`: the three in turn; none of them the out-of-family benchmark's, whose seeds
are refused), simulated at --res^3 by PhiFlow in its own Python (`--phiflow-python`,
default /work/phiflow-venv/bin/python or $BILLOW_PHIFLOW_PYTHON; numpy backend, one thread per
process unless --threads), streamed back frame by frame and written by billow's one writer of the
format (`billow.sim.dataset.write_pairs`, `FramePairs`): the same manifest fields and npz keys
as `billow dataset` (float16; velocity in cells of its own grid per frame; the low-res input
derived by blur + sample, `--lr-box` adds the box average, `--lr-sim` an independent PhiFlow
simulation of the same scene at --res / --factor). Per-sim seeds follow `billow dataset`'s
(`sim_seed(--seed, i)`); the manifest's "scenes" is "phiflow/<family>" and each sim's "scene"
holds the drawn parameters. Re-running resumes (complete sims are skipped; a folder made with
other settings is refused). `--dry-run` prints the header and the first scenes.

PhiFlow's steps are frames (dt = 1); `fps` in the manifest (24) only sets the world-units-per-
second conversion when the data is turned into VDBs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import phiflow_scenes

DEFAULT_PHIFLOW_PYTHON = os.environ.get("BILLOW_PHIFLOW_PYTHON", "/work/phiflow-venv/bin/python")
FPS = 24.0
RAW = ".phiflow-raw"  # per-sim scratch inside the output folder, removed after each sim
_FRAME_LINE = re.compile(r"^\[phiflow\] .* frame (\d+)/(\d+): ([0-9.]+) s")


def phiflow_version(python: str) -> str:
    """PhiFlow's version in `python`; one clear line when that Python or PhiFlow is missing."""
    from billow.errors import InputError

    if not Path(python).exists() and shutil.which(python) is None:
        raise InputError(f"PhiFlow's Python '{python}' not found: make it with `python3.11 -m "
                         "venv /work/phiflow-venv && /work/phiflow-venv/bin/pip install "
                         "'numpy<2' phiflow`, or pass --phiflow-python")
    r = subprocess.run([python, "-c", "import phi; print(phi.__version__)"],
                       check=False, capture_output=True, text=True)
    if r.returncode:
        raise InputError(f"{python}: cannot import phi (PhiFlow): "
                         f"{(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return r.stdout.strip()


def header(a, version: str) -> dict:
    from billow import __version__
    from billow.sim.dataset import pairs_header

    settings = {"lr_sim": a.lr_sim, **({"lr_box": True} if a.lr_box else {}),
                "solver": {"name": "phiflow", "version": version, "backend": "numpy",
                           "density_advection": "mac_cormack",
                           "velocity_advection": "semi_lagrangian", "dt_frames": 1.0,
                           "boundaries": "walls on the sides and floor, open top"},
                "pressure": {"solver": "CG", "tolerance": 1e-3, "absolute_tolerance": 1e-5,
                             "max_iterations": 300}}
    return pairs_header(dim=3, factor=a.factor, hr_res=[a.res] * 3, frames=a.frames,
                        seed=a.seed, fps=FPS, scenes=f"phiflow/{a.family}", settings=settings,
                        created_by=f"billow {__version__} tools/phiflow_dataset.py, "
                        f"PhiFlow {version}")


def entries(a) -> list[dict]:
    from billow.errors import InputError
    from billow.sim.dataset import sim_seed

    out = []
    for i in range(a.sims):
        seed = sim_seed(a.seed, i)
        try:
            scene = phiflow_scenes.draw(a.family, seed, index=i)
        except ValueError as e:
            raise InputError(f"--seed {a.seed}: sim {i}: {e}; pick another --seed") from e
        sid = f"sim_{i:04d}"
        out.append({"id": sid, "file": f"{sid}.npz", "seed": seed, "scene": scene})
    return out


def _command(a, params: Path, grid: str, raw: Path) -> list[str]:
    return [a.phiflow_python, str(HERE / "phiflow_scenes.py"), "--params", str(params),
            "--res", str(a.res), "--factor", str(a.factor), "--grid", grid, "--frames",
            str(a.frames), "--out", str(raw)]


def _run(cmd: list[str], threads: int, on_frame) -> None:
    """Run one PhiFlow simulation, calling `on_frame(t, seconds)` as each frame lands."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    lines = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env) as proc:
        for line in proc.stdout:
            lines.append(line)
            m = _FRAME_LINE.match(line)
            if m:
                on_frame(int(m.group(1)), float(m.group(3)))
    if proc.returncode:
        sys.stderr.write("".join(lines[-30:]))
        raise RuntimeError(f"PhiFlow simulation failed (exit {proc.returncode}): "
                           f"{shlex.join(cmd)}")


def _take(raw: Path, t: int):
    import torch

    path = raw / f"frame_{t:04d}.npz"
    with np.load(path) as z:
        d, v = torch.from_numpy(z["density"]).float(), torch.from_numpy(z["velocity"]).float()
    path.unlink()
    return d, v


def simulator(a, out: Path):
    """`write_pairs`'s simulate(entry, progress): the low-res run first when --lr-sim (cheap,
    kept in memory), then the high-res run, each frame derived and stored as it lands."""
    from billow.sim.dataset import FramePairs

    def simulate(entry, p):
        scratch = out / RAW / entry["id"]
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        params = scratch / "params.json"
        params.write_text(json.dumps(entry["scene"], indent=1) + "\n")
        low = []
        if a.lr_sim:
            raw = scratch / "lr"
            _run(_command(a, params, "lr", raw), a.threads,
                 lambda t, s: low.append(_take(raw, t)))
            if len(low) != a.frames:
                raise RuntimeError(f"{entry['id']}: the low-res PhiFlow run gave {len(low)} "
                                   f"of {a.frames} frames")
        pairs = FramePairs(a.factor, lr_sim=a.lr_sim, lr_box=a.lr_box)
        raw = scratch / "hr"
        seen = []

        def on_frame(t, seconds):
            d, v = _take(raw, t)
            pairs.add(d, v, low[t - 1] if a.lr_sim else None)
            seen.append(t)
            p.step(frame=t, sim=entry["id"], seconds=round(seconds, 2))

        _run(_command(a, params, "hr", raw), a.threads, on_frame)
        if seen != list(range(1, a.frames + 1)):
            raise RuntimeError(f"{entry['id']}: the PhiFlow run gave frames {seen[:5]}..., "
                               f"expected 1-{a.frames}")
        meta = json.loads((raw / "meta.json").read_text())
        p.message(f"{entry['id']} ({entry['scene']['family']}): {meta['seconds']} s "
                  f"high-res, max speed {meta['max_speed_cells_per_frame']:.2f} cells/frame")
        shutil.rmtree(scratch, ignore_errors=True)
        return pairs.arrays()

    return simulate


def check(a) -> None:
    from billow.errors import InputError
    from billow.sim.grid import MAX_RES, MIN_RES

    if a.sims < 1 or a.frames < 1:
        raise InputError(f"--sims {a.sims} --frames {a.frames}: need at least one of each")
    if a.factor < 1 or a.res % a.factor:
        raise InputError(f"--factor {a.factor} does not divide --res {a.res}")
    if a.res // a.factor < MIN_RES or a.res > MAX_RES:
        raise InputError(f"--res {a.res} --factor {a.factor}: keep the low-res grid at least "
                         f"{MIN_RES} cells and --res at most {MAX_RES}")
    if a.threads < 1:
        raise InputError(f"--threads {a.threads}: at least 1")


def parser() -> argparse.ArgumentParser:
    from billow.commands.common import add_progress_argument
    from billow.commands.dataset import add_size_arguments

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (a `billow dataset` folder)")
    add_size_arguments(p, sims=24, res=96, frames=60)
    p.add_argument("--family", choices=phiflow_scenes.FAMILIES, default="mixed",
                   help="scene family (default: mixed, the others in turn)")
    p.add_argument("--lr-box", action="store_true",
                   help="also store the box-average low-res input (lr_box_*), as "
                   "`billow dataset --lr-box`")
    p.add_argument("--lr-sim", action="store_true",
                   help="also simulate each scene independently at --res / --factor "
                   "(lr_sim_*), as `billow dataset --lr-sim`")
    p.add_argument("--phiflow-python", default=DEFAULT_PHIFLOW_PYTHON,
                   help=f"Python with phiflow installed (default: {DEFAULT_PHIFLOW_PYTHON})")
    p.add_argument("--threads", type=int, default=1,
                   help="threads of PhiFlow's numpy and of the derivation (default: 1)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the manifest header and the first scenes, and exit")
    add_progress_argument(p)
    return p


def main(argv=None) -> int:
    from billow.errors import BillowError

    a = parser().parse_args(argv)
    try:
        check(a)
        todo = entries(a)
        if a.dry_run:
            print(json.dumps({**header(a, "(not checked)"), "sims": f"{a.sims} planned",
                              "first_scenes": [e["scene"] for e in todo[:3]], "out": a.out},
                             indent=1))
            return 0
        import torch
        from billow.sim.dataset import write_pairs

        torch.set_num_threads(a.threads)
        t0 = time.perf_counter()
        stats = write_pairs(a.out, header(a, phiflow_version(a.phiflow_python)), todo,
                            simulator(a, Path(a.out)), a.progress, label="phiflow dataset")
        shutil.rmtree(Path(a.out) / RAW, ignore_errors=True)
    except BillowError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    print(f"{a.out}: {stats['written']} sims written, {stats['skipped']} already there "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
