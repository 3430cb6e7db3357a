"""2D experiments of the dissertation, reproducible with one command per study (issue 7):

    python benchmarks/ablation_2d.py temporal    # none / l2 / dt-noadv / dt   (Fig. 3.2 claims)
    python benchmarks/ablation_2d.py feature     # lambda_f negative / positive / zero (Sec. 3.2.4)
    python benchmarks/ablation_2d.py generator   # paper vs fast generator at equal wall clock
    python benchmarks/ablation_2d.py transfer    # reverse-pass regulariser: pretrain, fine-tune (ch. 4)

Each study trains its runs with `billow train` / `billow finetune` (the exact commands are
printed and saved), with identical data, seed and budget, skips runs already complete, then
evaluates every model on held-out simulations (`billow.train.heldout`, the metrics of `billow
eval`) next to tricubic, prints a markdown table, and writes it with Fig. 3.2-style time
derivative pictures to --out. Data (generate first; minutes on 2 cores):

    billow dataset --out data/smoke2d_256 --sims 16 --res 256 --factor 4 --frames 100 --dim 2 --seed 200
    billow dataset --out data/heldout2d_256 --sims 4 --res 256 --factor 4 --frames 100 --dim 2 --seed 9200
    billow dataset --out data/obst2d_256 --sims 6 --res 256 --factor 4 --frames 100 --dim 2 --seed 300 --scenes obstacle
    billow dataset --out data/obst2d_heldout --sims 2 --res 256 --factor 4 --frames 100 --dim 2 --seed 9300 --scenes obstacle
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch

from billow.train import heldout
from billow.train.export import load_generator
from billow.train.trainer import load_checkpoint

# Shared by every run: the fast-2d preset at a CPU-sized budget.
BASE = ["--preset", "fast-2d", "--width", "32", "--blocks", "3", "--batch", "8", "--tile", "16",
        "--seed", "0", "--threads", "1", "--log-every", "50", "--val-every", "250",
        "--sample-every", "0", "--checkpoint-every", "100", "--tensorboard", "off",
        "--progress", "log", "--loss-scale", "off"]  # the published tables predate --loss-scale
LAMBDA_F_POS = "0.174763,0.043691,0.010923,0.021845"  # the paper's 2D weights, sign flipped

STUDIES = {
    # run name -> extra `billow train` flags
    "temporal": {"t-dt": ["--temporal", "dt"], "t-none": ["--temporal", "none"],
                 "t-l2": ["--temporal", "l2"], "t-dt-noadv": ["--temporal", "dt-noadv"]},
    "feature": {"f-negative": ["--temporal", "dt"],  # the preset's (paper's) negative weights
                "f-positive": ["--temporal", "dt", "--lambda-f", LAMBDA_F_POS],
                "f-zero": ["--temporal", "dt", "--lambda-f", "0"]},
    "generator": {"g-fast": ["--generator", "fast", "--no-lr-decay"],
                  "g-paper": ["--generator", "paper", "--no-lr-decay"]},
    "transfer": {"pre-rr-local": ["--rr", "local"], "pre-rr-off": ["--rr", "off"]},
}
# runs that are the same experiment under two names share one folder
ALIASES = {"f-negative": "t-dt", "pre-rr-off": "t-dt"}


def sh(cmd: list[str], log: Path) -> None:
    print("$ " + shlex.join(cmd), flush=True)
    with open(log, "a") as f:
        f.write("$ " + shlex.join(cmd) + "\n")
        f.flush()
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT)


def done(run: Path, iterations: int, minutes: float) -> bool:
    try:
        ck = load_checkpoint(run)
    except Exception:
        return False
    return ck["iteration"] >= iterations or (minutes > 0 and ck.get("wall_time", 0) >= 60 * minutes)


def train(name: str, flags: list[str], a, commands: list[str]) -> Path:
    run = Path(a.runs) / ALIASES.get(name, name)
    budget = ["--iterations", str(a.iterations)]
    if a.study == "generator":
        budget = ["--iterations", "1000000", "--time-limit", str(a.minutes)]
    cmd = [sys.executable, "-m", "billow", "train", "--data", a.data, "--out", str(run), *BASE,
           *budget, *flags]
    commands.append(shlex.join(["billow", *cmd[3:]]))
    if not done(run, a.iterations if a.study != "generator" else 10 ** 9,
                a.minutes if a.study == "generator" else 0):
        resume = (run / "checkpoint.pt").exists()
        sh(cmd if not resume else [sys.executable, "-m", "billow", "train", "--out", str(run),
                                   "--resume", "--progress", "log", *budget],
           Path(a.out) / "train.log")
    return run


def finetune(base: Path, name: str, a, commands: list[str], rr: list[str]) -> Path:
    run = Path(a.runs) / name
    cmd = [sys.executable, "-m", "billow", "finetune", "--base", str(base), "--data",
           a.transfer_data, "--out", str(run), "--iterations", str(a.finetune_iterations),
           "--threads", "1", "--log-every", "50", "--val-every", "50", "--checkpoint-every", "100",
           "--tensorboard", "off", "--progress", "log", "--loss-scale", "off", *rr]
    commands.append(shlex.join(["billow", *cmd[3:]]))
    if not done(run, a.finetune_iterations, 0):
        sh(cmd, Path(a.out) / "train.log")
    return run


def val_curve(run: Path) -> list[tuple[int, float]]:
    out = []
    for line in (run / "log.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if "val_l1" in rec:
            out.append((rec["iteration"], rec["val_l1"]))
    return out


def evaluate(runs: dict[str, Path], data: str, a, title: str, out: Path) -> dict:
    methods = {"tricubic": heldout.baseline_method("tricubic", 4)}
    info = {}
    for name, run in runs.items():
        g, cfg, ck = load_generator(run)
        methods[name] = heldout.generator_method(g)
        info[name] = {"iterations": ck["iteration"], "wall_time_s": round(ck["wall_time"], 1),
                      "parameters": sum(p.numel() for p in g.parameters())}
    frames = slice(a.first_frame, a.first_frame + a.frames)
    t0 = time.perf_counter()
    ev = heldout.evaluate(methods, data, frames=frames, keep=(a.picture_sim, a.picture_frame))
    print(f"evaluated in {time.perf_counter() - t0:.0f} s", flush=True)
    md = heldout.table(ev["summary"])
    heldout.derivative_figure(ev["kept"], out / "derivatives.png", title)
    return {"table": md, "summary": ev["summary"], "runs": info}


def speed(runs: dict[str, Path], repeats: int = 3) -> dict[str, float]:
    """Inference seconds per 64^2 -> 256^2 frame, one thread, same process."""
    torch.set_num_threads(1)
    x = torch.rand(1, 3, 64, 64)
    out = {}
    for name, run in runs.items():
        g = load_generator(run)[0]
        with torch.no_grad():
            g(x)
            t0 = time.perf_counter()
            for _ in range(repeats):
                g(x)
        out[name] = (time.perf_counter() - t0) / repeats
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("study", choices=tuple(STUDIES))
    p.add_argument("--data", default="data/smoke2d_256")
    p.add_argument("--heldout", default="data/heldout2d_256")
    p.add_argument("--transfer-data", default="data/obst2d_256")
    p.add_argument("--transfer-heldout", default="data/obst2d_heldout")
    p.add_argument("--runs", default="runs/ablation2d")
    p.add_argument("--out", default="results/ablation2d")
    p.add_argument("--iterations", type=int, default=400)
    p.add_argument("--minutes", type=float, default=10.0, help="generator study: wall clock "
                   "budget per run")
    p.add_argument("--finetune-iterations", type=int, default=150)
    p.add_argument("--first-frame", type=int, default=30)
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--picture-sim", default="sim_0000")
    p.add_argument("--picture-frame", type=int, default=20)
    a = p.parse_args()
    out = Path(a.out) / a.study
    out.mkdir(parents=True, exist_ok=True)
    a.out = str(out)
    commands: list[str] = []
    runs = {name: train(name, flags, a, commands) for name, flags in STUDIES[a.study].items()}
    result: dict = {"study": a.study}
    if a.study == "transfer":
        tuned = {}
        for name, base in runs.items():
            # both fine-tune without the regulariser, so only the pretraining differs
            tuned[name.replace("pre-", "ft-")] = finetune(base, name.replace("pre-", "ft-"), a,
                                                          commands, ["--rr-mode", "off"])
        result["before"] = evaluate(runs, a.transfer_heldout, a, "pretrained, obstacle scenes",
                                    out / "before")
        result["after"] = evaluate(tuned, a.transfer_heldout, a,
                                   f"after {a.finetune_iterations} fine-tuning iterations",
                                   out)
        result["val_curves"] = {n: val_curve(r) for n, r in tuned.items()}
        text = ("## before fine-tuning (obstacle held-out)\n\n" + result["before"]["table"]
                + f"\n\n## after {a.finetune_iterations} fine-tuning iterations\n\n"
                + result["after"]["table"] + "\n\nvalidation L1 during fine-tuning:\n\n"
                + "\n".join(f"- {n}: " + ", ".join(f"{i}: {v:.5f}" for i, v in c)
                            for n, c in result["val_curves"].items()))
    else:
        result.update(evaluate(runs, a.heldout, a, f"{a.study} study, held-out", out))
        text = result["table"]
        if a.study == "generator":
            sp = speed(runs)
            result["seconds_per_frame"] = sp
            text += ("\n\ninference, one 64^2 -> 256^2 frame, 1 thread: "
                     + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in sp.items())
                     + f"; paper / fast = {sp['g-paper'] / sp['g-fast']:.1f}x")
    runs_line = "\n".join(f"- {k}: {v}" for k, v in
                          (result.get("runs") or result["after"]["runs"]).items())
    text += "\n\nruns:\n" + runs_line + "\n\ncommands:\n" + "\n".join(f"    {c}" for c in commands)
    (out / "table.md").write_text(text + "\n")
    (out / "result.json").write_text(json.dumps({k: v for k, v in result.items()}, indent=1,
                                                default=str))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
