"""Learning curves and discriminator health of one or more training runs, as one picture.

    python benchmarks/training_curves.py runs/smooth_l1 runs/smooth_dwarm runs/smooth_gan \\
        --out docs/results/smooth3d_training.png

Runs are drawn one after another on a shared axis of cumulative training time (hours), in the
order given (a fine-tune continues its base). Panels: the generator's L1 term and the
validation L1 (raw density units); the discriminators' losses D_s and D_t with chance
(2 ln 2 = 1.386: a discriminator there is not pulling) and their accuracy on real and
generated tiles (and negatives); the generator's texture terms (spectrum, slider order,
flicker, lattice ratio), each 0 when met.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from billow.run.gan import CHANCE


def read_log(run: Path) -> list[dict]:
    path = run / "log.jsonl"
    if not path.is_file():
        raise SystemExit(f"training_curves: {path}: no log (is {run} a billow run folder?)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wall_hours(run: Path, rows: list[dict]) -> list[float]:
    """Training time of each log row: the run's wall time spread over its iterations (the log
    holds iterations; the checkpoint's wall time is the total)."""
    import torch

    ckpt = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    total_it = max(int(ckpt["iteration"]), 1)
    per_it = float(ckpt["wall_time"]) / total_it
    return [r["iteration"] * per_it / 3600 for r in rows]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(21, 4.5))
    offset = 0.0
    for run in args.runs:
        rows = read_log(run)
        hours = [offset + h for h in wall_hours(run, rows)]
        label = run.name

        def series(key, hours=hours, rows=rows):
            pts = [(h, r[key]) for h, r in zip(hours, rows) if key in r]
            return [p[0] for p in pts], [p[1] for p in pts]

        x, y = series("g_l1")
        if x:
            axes[0].plot(x, y, label=f"{label}: g_l1 (x lambda_L1)")
        x, y = series("val_l1")
        if x:
            ax2 = axes[0].twinx() if not hasattr(main, "_ax2") else main._ax2
            main._ax2 = ax2
            ax2.plot(x, y, "k.--", label=f"{label}: validation L1", alpha=0.7)
            ax2.set_ylabel("validation L1 (density)")
        for key, style in (("d_s", "-"), ("d_t", "--")):
            x, y = series(key)
            if x:
                axes[1].plot(x, y, style, label=f"{label}: {key}")
        for key in ("d_s_acc_real", "d_s_acc_fake", "d_t_acc_real", "d_t_acc_fake",
                    "d_s_acc_negative", "d_s_acc_lattice", "d_s_acc_dots",
                    "d_t_acc_negative", "d_t_acc_shift"):
            x, y = series(key)
            if x:
                axes[2].plot(x, y, label=f"{label}: {key}", alpha=0.8)
        for key in ("g_spectrum", "g_slider_order", "g_flicker", "g_lattice_ratio"):
            x, y = series(key)
            if x:
                axes[3].plot(x, y, label=f"{label}: {key}", alpha=0.8)
        if rows:
            offset = hours[-1]
        axes[0].axvline(offset, color="grey", lw=0.5)
        axes[1].axvline(offset, color="grey", lw=0.5)
    axes[1].axhline(CHANCE, color="r", lw=1, label="chance 2 ln 2")
    axes[0].set_title("generator L1 (tile units) and validation L1")
    axes[1].set_title("discriminator losses (below chance = pulling)")
    axes[2].set_title("discriminator accuracy (real, generated, negatives)")
    # the terms that stand for artist-facing measures: texture, slider, flicker, lattice
    axes[3].set_title("generator's texture terms (weighted; 0 = met)")
    for ax in axes:
        # wall-clock: the runs used 1 or 2 CPU threads (each run's config.json says which)
        ax.set_xlabel("training time (wall-clock hours)")
        ax.legend(fontsize=6, ncol=2 if ax is axes[2] else 1, loc="lower left")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"training_curves: wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
