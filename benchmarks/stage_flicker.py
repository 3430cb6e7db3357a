"""Where a smooth generator's flicker forms: the flicker of each stage of its forward pass over a
sequence of an out-of-family set, and a picture of where it lives (session 19).

    python benchmarks/stage_flicker.py --set-dir /work/data/ood/ood_dense_128 \\
        --model engine/billow/models/smoke3d_x4.onnx --out docs/results/ood_s28c_stage_flicker_dense.png

Runs `SmoothGenerator.stages` on each whole low-res frame (`lr.NNNN.vdb`, normalised by the
frame's scales as `billow upres` does, no tiling) and prints, per stage, the flicker over the
reference's (`billow.metrics.temporal.flicker`, mean over frame pairs): base (the interpolated
density), sum (base x gain for the gain form), projected, output (after the lattice notch), and
the gain itself (sum / base). The picture: per stage, the flicker map on the mid z slice (RMS
over time of the high-passed change over the RMS of the stage's high band) and one frame's slice.

Measured in session 19, s28c on ood_dense_128, frames 1-20: base 0.49, sum 1.20, projected 1.53,
output 1.54, gain 1.70; on phi_dense_128 (PhiFlow) 0.48, 1.17, 1.46, 1.47, 1.49. The map shows the flicker in thin rings: the gain dips along the edges
of the low-density pockets (the "dark pits"), the block projection answers with bright rims and
raises the flicker from 1.20x to 1.53x. The pits, the rims and the dense-smoke flicker are one
artefact. On ood_wisps_128 (flicker fine there: 0.55, 0.53, 0.89, 0.92, 0.87) the same mechanism
makes the rings around bright wisps: the gain pulls the smoke into the cores, the projection
refills their surroundings as rings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from billow.infer.backends import torch_module_from_card
from billow.io import parse_frames, read_smoke_frame
from billow.io.model_card import load_card
from billow.metrics.render import slice_image
from billow.metrics.temporal import flicker, high_pass
from billow.nets import FACTOR
from lattice_stages import network_input
from ood_look import dense, density, set_shape

STAGES = ("base", "sum", "projected", "output", "gain")


def stages_per_frame(set_dir: Path, model: Path, frames):
    """Yield (frame, `SmoothGenerator.stages` of its whole low-res input, the frame's density
    scale s_d, the low-res density) over `frames` of a set, with progress on stderr."""
    lr = tuple(n // FACTOR for n in set_shape(set_dir))
    net = torch_module_from_card(load_card(model)).eval()
    if not hasattr(net, "stages"):
        raise SystemExit(f"{model} is not a smooth generator (no stages)")
    sim = set_dir / "vdb" / "sim_0000"
    for i, f in enumerate(frames):
        print(f"frame {f} ({i + 1}/{len(frames)})", file=sys.stderr, flush=True)
        frame = read_smoke_frame(sim / f"lr.{f:04d}.vdb")
        rho, vel = dense(frame.density, lr), dense(frame.velocity, lr)
        x, s_d = network_input(rho, vel)
        with torch.no_grad():
            yield f, net.stages(x), s_d, rho


def stage_sequences(set_dir: Path, model: Path, frames) -> dict[str, list[torch.Tensor]]:
    """{stage: [high-res field per frame]} in density units, plus "reference"."""
    hr = set_shape(set_dir)
    sim = set_dir / "vdb" / "sim_0000"
    out = {k: [] for k in (*STAGES, "reference")}
    for f, st, s_d, _ in stages_per_frame(set_dir, model, frames):
        for k in STAGES[:-1]:
            out[k].append(st[k][0, 0] * s_d)
        out["gain"].append((st["sum"] / st["base"].clamp_min(1e-4))[0, 0])
        out["reference"].append(torch.from_numpy(density(sim / f"hr.{f:04d}.vdb", hr)))
    return out


def mean_flicker(seq) -> float:
    return float(np.mean([flicker(seq[t - 1], seq[t], FACTOR) for t in range(1, len(seq))]))


def picture(seqs, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, len(STAGES), figsize=(2.6 * len(STAGES), 5.4), squeeze=False)
    mid = len(seqs["base"]) // 2
    for j, k in enumerate(STAGES):
        hp = [high_pass(y, FACTOR) for y in seqs[k]]
        change = np.stack([slice_image(hp[t] - hp[t - 1], "z") for t in range(1, len(hp))])
        band = float(np.sqrt(np.mean([float(h.pow(2).mean()) for h in hp])))
        ax[0, j].imshow(np.sqrt((change ** 2).mean(0)) / band, cmap="magma", vmin=0, vmax=1)
        ax[0, j].set_title(f"{k}: flicker map", fontsize=8)
        ax[1, j].imshow(slice_image(seqs[k][mid], "z"), cmap="gray")
        ax[1, j].set_title(f"{k}: one frame", fontsize=8)
    for a in ax.flat:
        a.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set-dir", type=Path, required=True, help="an ood_benchmark set folder")
    p.add_argument("--model", type=Path, required=True, help="a smooth model (NAME.onnx with "
                   "NAME.json and NAME.pt beside it)")
    p.add_argument("--frames", default="1-20")
    p.add_argument("--out", type=Path, help="the picture (PNG); none without")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    seqs = stage_sequences(a.set_dir, a.model, parse_frames(a.frames))
    ref = mean_flicker(seqs["reference"])
    for k in STAGES:
        print(f"{k:>10}: flicker / reference {mean_flicker(seqs[k]) / ref:.3f}")
    if a.out:
        picture(seqs, a.out)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
