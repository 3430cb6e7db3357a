"""Evaluate trained runs (or exported models' .pt weights via their run folders) on held-out
paired simulations from `billow dataset`, next to baselines; print a markdown table and write a
JSON that `billow export --eval` puts into the model card.

    python benchmarks/heldout_eval.py runs/ablation2d/t-dt --data data/heldout2d_256 \
        --baselines tricubic,wavelet --frames 30-69 --json results/smoke2d_eval.json

Same metrics and conventions as `billow eval` (billow.train.heldout), without a VDB round trip,
so it also covers 2D models.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from billow.train import heldout
from billow.train.data import PairedData
from billow.train.export import load_generator


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="run folders or checkpoints")
    p.add_argument("--data", required=True, help="held-out paired data folder")
    p.add_argument("--sims", default=None, help="comma-separated sim ids (default: all)")
    p.add_argument("--baselines", default="tricubic,wavelet")
    p.add_argument("--frames", default="30-69", help="first-last frame index (0-based)")
    p.add_argument("--json", default=None, help="write the result here")
    p.add_argument("--picture", default=None, help="write Fig. 3.2-style derivatives here (PNG)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    first, last = (int(v) for v in a.frames.split("-"))
    data = PairedData(a.data)
    methods = {b: heldout.baseline_method(b, data.factor) for b in a.baselines.split(",") if b}
    runs = {}
    for r in a.runs:
        g, cfg, ck = load_generator(r)
        name = Path(r).name
        methods[name] = heldout.generator_method(g)
        runs[name] = {"run": r, "iterations": ck["iteration"],
                      "wall_time_s": round(ck["wall_time"], 1)}
    sims = a.sims.split(",") if a.sims else None
    t0 = time.perf_counter()
    ev = heldout.evaluate(methods, a.data, sims=sims, frames=slice(first, last + 1),
                          keep=((sims or sorted(data.sims))[0], (last - first) // 2))
    md = heldout.table(ev["summary"])
    print(md)
    result = {"command": shlex.join(["python", *sys.argv]), "data": a.data,
              "sims": sims or sorted(data.sims), "frames": [first, last],
              "factor": data.factor, "dim": data.dim, "runs": runs,
              "seconds": round(time.perf_counter() - t0, 1),
              "metrics": "billow.train.heldout (the conventions of billow eval)",
              "summary": ev["summary"], "table": md}
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(result, indent=1) + "\n")
    if a.picture:
        heldout.derivative_figure(ev["kept"], a.picture, f"held-out {a.data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
