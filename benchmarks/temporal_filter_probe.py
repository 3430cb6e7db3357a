"""Would a temporal filter along the flow lower the flicker of upres'd dense slow smoke? A probe
on upres output already on disk (session 19). Since session 20 the filter is a product command,
`billow steady`, and this probe runs its code (`billow.ops.steady`); its figures through the
user's commands are `benchmarks/steady_ood.py`'s.

    python benchmarks/temporal_filter_probe.py --set-dir /work/data/ood/ood_dense_128 \\
        --method /work/data/ood_eval/ood_dense_128/s28c \\
        --tricubic /work/data/ood_eval/ood_dense_128/tricubic --frames 1-20 --taps 1,1,1

The filter is a causal FIR over the last len(taps) frames of raw upres output, each carried to
the current frame by semi-Lagrangian advection with the input's velocity (trilinearly
upsampled, x4 into high-res cells per frame):

    blend_t = sum_k w_k A^k(raw_{t-k}) / sum_k w_k
    y_t     = blend_t * R(box(raw_t), box(blend_t))

where box is the mean of each 4^3 block and R two steps of `project_block_ratios` (session 19's
form: one trilinear up-sampling of the ratio clamped to [0.5, 2]), so the frame keeps the raw
output's block means (its mass and large shapes) and only the sub-cell detail is averaged in
time. FIR rather than recursive so that a farm chunk with len(taps) - 1 frames of warm-up would
equal a sequential run exactly. Prints, over the frames that have a full history, L1 over
tricubic's, flicker over the reference's (`billow.metrics.temporal.flicker`, mean over frame
pairs), spectrum error and mass for the raw output, tricubic and each filter. The figures are
this script's own means, close to but not the same as `billow eval`'s.

Measured in session 19 on s28c, the shipped default, with session 19's form (each line over
the frames with a full history, so the raw figure moves with the window):

| data | taps | flicker/ref raw -> filtered | L1/tricubic | spectrum error |
|---|---|---|---|---|
| training family (`billow dataset --scenes mixed --seed 300`, sim 0, frames 21-40) | 1,1,1 | 1.09 -> 1.03 | 0.524 -> 0.522 | 0.457 -> 0.483 |
| same | 1,1,1,1,1 | 1.10 -> 1.00 | 0.527 -> 0.524 | 0.448 -> 0.499 |
| ood_dense_128, frames 3-20 | 1,1,1 | 1.56 -> 1.38 | 1.090 -> 1.078 | 0.523 -> 0.581 |
| ood_dense_128, frames 5-20 | 1,1,1,1,1 | 1.43 -> 1.24 | 1.090 -> 1.068 | 0.520 -> 0.631 |

A 12-14% cut of the flicker for 10-20% more spectrum error. Session 20 made it `billow
steady`, a pass after the upres that reads the previous frames' upres from disk, so the upres
itself keeps its frames independent.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from billow.io import parse_frames, read_smoke_frame
from billow.metrics.spectrum import radial_spectrum, spectrum_error
from billow.metrics.temporal import flicker
from billow.nets import FACTOR
from billow.ops.steady import steady_frame
from ood_look import dense, density, frame_file, set_shape


def smooth_up(r: torch.Tensor) -> torch.Tensor:
    return F.interpolate(r, scale_factor=FACTOR, mode="trilinear", align_corners=False)


def fir(raws, vels, taps):
    """`billow steady`'s filter (`billow.ops.steady.steady_frame`) over frames held as
    (1, 1, *S) / (1, 3, *S) tensors; frames without a full history are passed through raw."""
    out = []
    for t in range(len(raws)):
        if t < len(taps) - 1:
            out.append(raws[t])
            continue
        window = range(t - len(taps) + 1, t + 1)
        y = steady_frame([raws[j][0, 0].numpy() for j in window],
                         [vels[j][0].numpy() for j in window], taps, FACTOR)
        out.append(torch.from_numpy(y)[None, None])
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set-dir", type=Path, required=True, help="an ood_benchmark set folder")
    p.add_argument("--method", type=Path, required=True, help="folder of the raw upres output")
    p.add_argument("--tricubic", type=Path, required=True, help="folder of tricubic's output")
    p.add_argument("--frames", default="1-20")
    p.add_argument("--taps", action="append", default=None,
                   help="comma-separated weights, newest first (repeatable; default 1,1,1)")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    taps = [[float(x) for x in s.split(",")] for s in (a.taps or ["1,1,1"])]
    frames = parse_frames(a.frames)
    sim = a.set_dir / "vdb" / "sim_0000"
    # the domain's shape: the VDBs hold only their active boxes
    hr_shape = set_shape(a.set_dir)
    lr_shape = tuple(s // FACTOR for s in hr_shape)
    refs, raws, tris, vels, mass_in = [], [], [], [], []
    for f in frames:
        refs.append(torch.from_numpy(density(sim / f"hr.{f:04d}.vdb", hr_shape))[None, None])
        raws.append(torch.from_numpy(density(frame_file(a.method, f), hr_shape))[None, None])
        tris.append(torch.from_numpy(density(frame_file(a.tricubic, f), hr_shape))[None, None])
        lr = read_smoke_frame(sim / f"lr.{f:04d}.vdb")
        mass_in.append(float(lr.density.data.sum()))
        v = dense(lr.velocity, lr_shape).transpose(3, 0, 1, 2)
        vels.append(smooth_up(torch.from_numpy(np.ascontiguousarray(v))[None]) * FACTOR)
    first = max(len(t) for t in taps) - 1  # frames with a full history for every filter

    def measure(name, ys):
        ts = range(first, len(ys))
        l1 = np.mean([float((ys[t] - refs[t]).abs().mean()) for t in ts])
        l1_tri = np.mean([float((tris[t] - refs[t]).abs().mean()) for t in ts])
        pairs = [t for t in ts if t > first]
        fl = np.mean([flicker(ys[t - 1][0, 0], ys[t][0, 0], FACTOR) for t in pairs])
        fl_ref = np.mean([flicker(refs[t - 1][0, 0], refs[t][0, 0], FACTOR) for t in pairs])
        se = np.mean([spectrum_error(radial_spectrum(ys[t][0, 0]), radial_spectrum(refs[t][0, 0]),
                                     FACTOR) for t in ts])
        mass = np.mean([float(ys[t].sum()) / (FACTOR ** 3 * mass_in[t]) for t in ts])
        print(f"{name:>12}: L1/tricubic {l1 / l1_tri:.3f}  flicker/ref {fl / fl_ref:.3f}  "
              f"spectrum error {se:.3f}  mass {mass:.4f}", flush=True)

    measure("raw", raws)
    measure("tricubic", tris)
    for t in taps:
        measure("taps " + ",".join(f"{x:g}" for x in t), fir(raws, vels, t))


if __name__ == "__main__":
    main()
