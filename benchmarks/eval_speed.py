"""`billow eval` time over `billow upres` time for the same frames (issue 20: at most 2x with
`--baselines tricubic`, at most 3x with `tricubic,wavelet`).

Each round runs, as separate processes one after another, `billow upres` of the frames and
`billow eval` of that upres against the input and the reference with each baseline set; the
ratios are per round (so a loaded machine slows both sides alike) and the median is printed.
With `--before DIR` (an `engine/` folder of another checkout, e.g. made with
`git archive ee9d9a6 engine | tar -x -C /tmp/old`) the same rounds also run that engine,
interleaved, and the before/after time ratio of upres and of each eval is printed. The load average is printed
beside each round (the figures are meant for a shared machine); the scratch folder is removed at
the end.

    billow dataset --out /tmp/x --sims 1 --res 192 --frames 24 --scenes mixed --seed 5 --vdb
    python benchmarks/eval_speed.py --lr '/tmp/x/vdb/sim_0000/lr.####.vdb' \\
        --hr '/tmp/x/vdb/sim_0000/hr.####.vdb' --frames 13-24 [--before /tmp/old/engine]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENGINE = str(Path(__file__).resolve().parents[1] / "engine")


def timed(cmd: list[str], engine: str) -> float:
    env = {**os.environ, "PYTHONPATH": engine, "OMP_NUM_THREADS": "1",
           "BILLOW_MODELS": str(Path(ENGINE) / "billow" / "models")}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "billow", *cmd], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lr", required=True, help="low-res input pattern")
    p.add_argument("--hr", default=None, help="high-res reference pattern")
    p.add_argument("--frames", default=None)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--before", default=None, help="engine/ folder of the 'before' checkout")
    a = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="billow-evalspeed-"))
    try:
        run(a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(a: argparse.Namespace, work: Path) -> None:
    frames = ["--frames", a.frames] if a.frames else []
    engines = {"after": ENGINE, **({"before": a.before} if a.before else {})}
    sets = {"tricubic": "tricubic", "wavelet": "tricubic,wavelet"}
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(a.rounds):
        for label, engine in engines.items():
            up = str(work / label / "up.####.vdb")
            t_up = timed(["upres", a.lr, up, "--threads", "1", "--progress", "none", *frames],
                         engine)
            times.setdefault((label, "upres"), []).append(t_up)
            for name, bl in sets.items():
                cmd = ["eval", "--output", up, "--input", a.lr, "--baselines", bl,
                       "--report", str(work / label / f"rep_{name}"), "--progress", "none",
                       *frames, *(["--reference", a.hr] if a.hr else [])]
                t = timed(cmd, engine)
                times.setdefault((label, name), []).append(t)
                times.setdefault((label, name + "/upres"), []).append(t / t_up)
            print(f"round {r + 1}, {label}: upres {t_up:.1f} s, eval/upres " + ", ".join(
                f"{name} {times[(label, name + '/upres')][-1]:.2f}" for name in sets)
                + f" ({load()})", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    for label in engines:
        print(f"{label}: eval/upres with tricubic {med[(label, 'tricubic/upres')]:.2f}x "
              f"(target <= 2), with tricubic,wavelet {med[(label, 'wavelet/upres')]:.2f}x "
              "(target <= 3)")
    if a.before:
        for name in ("upres", *sets):
            ratios = [b / t for b, t in zip(times[("before", name)], times[("after", name)])]
            what = "upres" if name == "upres" else f"eval {sets[name]}"
            print(f"{what}: before / after time {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
