"""Weight-free alternatives to a gain-form generator's output projection, applied to its `sum`
stage (base x gain) on whole frames of a paired set (session 19; a probe, not a product
feature). The shipped projection restores each 4^3 block's mean and, on out-of-family dense
smoke, raises the flicker by a quarter (`stage_flicker.py`); do gentler ones keep L1?

    python benchmarks/projection_variants_probe.py --set-dir /work/data/tune \\
        --tricubic /work/data/tune_eval/tricubic --frames 21-40

--set-dir holds `vdb/sim_0000/{lr,hr}.NNNN.vdb` and a `set.json` with `hr_res` (an
`ood_benchmark` set, or a `billow dataset --vdb` folder with that file added); --tricubic the
`billow baseline --method tricubic` output of the same frames. Prints, per variant, flicker over
the reference's, L1 over tricubic's, spectrum error (every third frame), mass over the input's
and the lattice measure inside the smoke (every sixth frame) over the reference's.

Session 19, training family only (`billow dataset --scenes mixed --res 128 --seed 300 --vdb`,
sim 0, frames 21-40; s28c): shipped output 1.07 / 0.518 / 0.486; global scale 0.74 / 0.773 /
1.05; one block-ratio step 1.00 / 0.721 / 0.60; two blurred-ratio steps 0.79 / 0.661 / 1.07;
the same then the notch and a step 0.97 / 0.636 / 0.56. Each buys flicker with L1: none was
taken to the out-of-family benchmark.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from billow.io import parse_frames
from billow.metrics.artefacts import lattice_measure
from billow.metrics.spectrum import radial_spectrum, spectrum_error
from billow.nets import FACTOR
from billow.ops.backproject import block_means, block_ratio
from billow.ops.dephase import phase_notch
from billow.ops.upsample import interpolate_smooth
from ood_look import density, frame_file, set_shape
from stage_flicker import mean_flicker, stages_per_frame


def blur(t: torch.Tensor) -> torch.Tensor:
    """[1, 2, 1] along each axis of a low-res field, edges replicated."""
    k = torch.tensor([0.25, 0.5, 0.25])
    for d in range(3):
        pad = [0] * 6
        pad[2 * (2 - d)] = pad[2 * (2 - d) + 1] = 1
        shape = [1, 1, 1, 1, 1]
        shape[2 + d] = 3
        t = F.conv3d(F.pad(t, pad, mode="replicate"), k.view(shape))
    return t


def ratio_step(y, low):
    return y * interpolate_smooth(block_ratio(low, block_means(y, FACTOR)), FACTOR)


def blurred_step(y, low):
    return y * interpolate_smooth(block_ratio(blur(low), blur(block_means(y, FACTOR))), FACTOR)


VARIANTS = {
    "shipped output": lambda st, low: st["output"],
    "global scale": lambda st, low: st["sum"] * (low.sum() * FACTOR ** 3 / st["sum"].sum()),
    "1 block-ratio step": lambda st, low: ratio_step(st["sum"], low),
    "2 blurred steps": lambda st, low: blurred_step(blurred_step(st["sum"], low), low),
    "2 blurred + notch + step": lambda st, low: ratio_step(phase_notch(
        blurred_step(blurred_step(st["sum"], low), low), st["base"], FACTOR), low),
}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set-dir", type=Path, required=True)
    p.add_argument("--tricubic", type=Path, required=True)
    p.add_argument("--model", type=Path,
                   default=Path(__file__).resolve().parents[1] / "engine/billow/models/"
                   "smoke3d_x4.onnx")
    p.add_argument("--frames", default="1-20")
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    hr = set_shape(a.set_dir)
    sim = a.set_dir / "vdb" / "sim_0000"
    out = {k: [] for k in VARIANTS}
    refs, tris, mass_in = [], [], []
    for f, st, s_d, rho in stages_per_frame(a.set_dir, a.model, parse_frames(a.frames)):
        low = torch.from_numpy(rho / s_d).float()[None, None]  # the network's density input
        for k, fn in VARIANTS.items():
            out[k].append((fn(st, low) * s_d)[0, 0].clamp_min(0))
        mass_in.append(float(rho.sum()) * FACTOR ** 3)
        refs.append(torch.from_numpy(density(sim / f"hr.{f:04d}.vdb", hr)))
        tris.append(torch.from_numpy(density(frame_file(a.tricubic, f), hr)))

    l1_tri = np.mean([float((t - r).abs().mean()) for t, r in zip(tris, refs)])
    lat_ref = np.mean([lattice_measure(r.numpy(), shell=4) for r in refs[::6]])
    for k, seq in out.items():
        l1 = np.mean([float((y - r).abs().mean()) for y, r in zip(seq, refs)])
        se = np.mean([spectrum_error(radial_spectrum(y), radial_spectrum(r), FACTOR)
                      for y, r in zip(seq[::3], refs[::3])])
        mass = np.mean([float(y.sum()) / m for y, m in zip(seq, mass_in)])
        lat = np.mean([lattice_measure(y.numpy(), shell=4) for y in seq[::6]]) / lat_ref
        print(f"{k:>26}: flicker/ref {mean_flicker(seq) / mean_flicker(refs):.3f}  L1/tricubic {l1 / l1_tri:.3f}"
              f"  spectrum error {se:.3f}  mass {mass:.4f}  lattice in/ref {lat:.2f}", flush=True)


if __name__ == "__main__":
    main()
