"""In-family check of a training run's checkpoints: lattice and L1 on its validation sims.

Adversarial training of the 3D model does not settle: out of family, the lattice measure of
one run's successive exports went 0.95 -> 0.82 -> 1.90x the reference's one cell in from the
walls while L1 and flicker kept improving (`benchmarks/ood_results_smooth.md`, session 10).
Picking the checkpoint on the out-of-family benchmark would tune on the test; this measures
each checkpoint on the run's own *validation* simulations instead (held out of training, same
family), whole frames through the product path (zero-padded domain, whole-frame
normalisation, the model's projection), and prints per checkpoint the lattice measure over
the reference's (whole domain and one low-res cell in) and L1 over tricubic's.

Measured in session 10 it does NOT predict the out-of-family figures, which is the point of
keeping it: in family the checkpoints beat tricubic (L1 0.74-0.87x) where out of family they
lose (1.04-1.08x), and its lattice (1.4-2.7x, fluctuating from checkpoint to checkpoint) is
unrelated to the out-of-family one (s13: 2.65 here, 0.82 out of family). Use it to watch a
run, never as evidence of quality.

    python benchmarks/val_lattice.py --data /work/data/mixed96 /work/runs/s14/checkpoint.*.pt

Each checkpoint's validation simulations come from the checkpoint itself (`val_ids`); the
input is the box-averaged low-res (as the out-of-family benchmark's) where the data has it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from billow.baselines import upsample
from billow.errors import InputError
from billow.metrics import lattice_measure
from billow.ops.normalise import frame_scales
from billow.train.data import PairedData
from billow.train.export import load_generator

FRAMES = (20, 40)  # default: smoke has spread by then in every scene family


def upres_whole(g, density: np.ndarray, velocity: np.ndarray, normalise: str) -> np.ndarray:
    """The generator on one whole frame, zero-padded as `billow upres` pads the domain.
    density (*S), velocity (3, *S) in low-res cells per frame."""
    s_d, s_v = (frame_scales(density, np.moveaxis(velocity, 0, -1)) if normalise == "frame"
                else (1.0, 1.0))
    x = torch.cat([torch.from_numpy(density)[None, None] / s_d,
                   torch.from_numpy(velocity)[None] / s_v], dim=1).float()
    pad = g.receptive_radius + 1  # zeros around the domain: beyond the model's reach
    x = torch.nn.functional.pad(x, (pad,) * 6)
    with torch.no_grad():
        y = g(x)[0, 0].numpy()
    f = y.shape[0] // x.shape[2]
    core = (slice(f * pad, -f * pad),) * 3
    return y[core] * s_d


def measure(ckpt: Path, data: PairedData, frames=FRAMES) -> dict:
    g, cfg, raw = load_generator(ckpt)
    rows = []
    for sid in raw["val_ids"]:
        sim = data.load(sid)
        prefix = "lr_box" if "lr_box_density" in sim else "lr"
        for t in frames:
            if t >= sim["hr_density"].shape[0]:
                continue
            ref = np.asarray(sim["hr_density"][t], np.float32)
            if ref.sum() <= 0:
                continue
            d = np.asarray(sim[f"{prefix}_density"][t], np.float32)
            v = np.asarray(sim[f"{prefix}_velocity"][t], np.float32)
            y = upres_whole(g, d, v, cfg.model.normalise)
            cubic = upsample(d, data.factor, "tricubic").numpy()  # the benchmark's tricubic
            rows.append({
                "lattice": lattice_measure(y) / lattice_measure(ref),
                "lattice_in": lattice_measure(y, shell=data.factor)
                / lattice_measure(ref, shell=data.factor),
                "l1": float(np.abs(y - ref).mean()) / float(np.abs(cubic - ref).mean())})
    if not rows:
        raise InputError(f"{ckpt}: no validation frame with smoke in {data.root}")
    out = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
    out.update(iteration=int(raw.get("iteration", -1)), frames=len(rows))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="+", type=Path, help="run folders or checkpoint files")
    ap.add_argument("--data", required=True, type=Path, help="the run's paired data folder")
    ap.add_argument("--frames", default=",".join(map(str, FRAMES)),
                    help="frame indices of each validation simulation (default %(default)s)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the rows here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        frames = tuple(int(f) for f in a.frames.split(","))
    except ValueError:
        print(f"val_lattice: --frames {a.frames!r}: give frame indices like 20,40",
              file=sys.stderr)
        return 2
    try:
        data = PairedData(a.data)
    except InputError as e:
        print(f"val_lattice: {e}", file=sys.stderr)
        return 2
    if data.dim != 3:
        print(f"val_lattice: {a.data} is {data.dim}D; the lattice check is for 3D models",
              file=sys.stderr)
        return 2

    def order(p: Path):  # checkpoint.200.pt before checkpoint.1000.pt; the latest last
        m = re.search(r"\.(\d+)\.pt$", p.name)
        return (str(p.parent), int(m.group(1)) if m else 1 << 30)

    print("| checkpoint | iteration | frames | lattice/ref | lattice in/ref | L1/tricubic |")
    print("|---|---|---|---|---|---|")
    rows = []
    for ck in sorted(a.checkpoints, key=order):
        t0 = time.perf_counter()
        try:
            r = measure(ck, data, frames)
        except (InputError, OSError, KeyError) as e:
            msg = str(e) if str(ck) in str(e) else f"{ck}: {e}"  # loaders name the file
            print(f"val_lattice: {msg}", file=sys.stderr)
            return 2
        r["checkpoint"] = str(ck)
        rows.append(r)
        print(f"| {ck} | {r['iteration']} | {r['frames']} | {r['lattice']:.2f} | "
              f"{r['lattice_in']:.2f} | {r['l1']:.3f} |  ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
