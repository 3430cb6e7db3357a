"""What the spatial discriminator keys on, and how much detail the generator makes, on the
training tiles of a run (issue 17: "if the adversarial terms do not pull, find out why").

    python benchmarks/d_probe.py RUN --data DATA [--batches 8] [--checkpoint FILE]

RUN is a `billow train` / `finetune` folder (its `config.json` and `checkpoint.pt`), DATA the
paired data it trains on (e.g. /work/data/mixed96). Prints, for tiles drawn as training draws them:

- D_s's mean probability of "real" for real tiles, generated tiles, and swaps: each tile split
  at a Gaussian scale sigma (voxels) into its low-pass and its high band, the two halves
  exchanged between real and generated; white noise with the real tile's high-band std added to
  generated tiles; and real tiles shown with another tile's low-res condition. Whichever half
  carries "real" is what D_s judges; a condition swap that stays "real" means D_s ignores the
  input it is conditioned on.
- D_t's mean probability of "real" for real and generated triples (advected, as training
  aligns them) and for broken ones: flicker (new high-passed noise in each frame), the same
  noise frozen in all three frames, and real frames left unaligned.
- generated / real power in radial bands of the tile's spectrum (cycles per high-res voxel;
  the input's Nyquist is 1/8 at 4x), in family: pooled over tiles, and the per-tile median.
- D_s's P(real) for real and generated tiles darkened along iso-line contours, as
  `--d-negative-kinds contours` draws them.
- D_s's P(real) for real and generated tiles with a 4-voxel dot lattice added (0.3 and 1 x the
  real tile's high-band std): a D_s that scores them higher than the clean tiles pays the
  generator to print the lattice.

Session 16 (`--batches 2`, /work/notes/dprobe_s26.txt): `s26`'s D_s scores real tiles
darkened along iso-line contours **more** real than the clean ones (0.91 vs 0.83; generated
0.56 vs 0.29): it paid the generator for the ringing contours seen in `s25`'s pictures, hence
`--d-negative-kinds contours`. Pooled and per-tile median band ratios agree within 0.1-0.2 on
`mixed96` (0.82 -> 0.13 from the input's Nyquist to 0.5 cycles per voxel); session 15's
pooled 0.1-1.4% for `s25` is not reproduced here.

Session 13 (`--batches 6`): `s21`'s D_s, trained with `--d-negative-kinds blur,lattice`
(random period-4 patterns, rejected 96-100% of the time in training), still scores the dot
lattice as more real: real 0.68 -> 0.90 and generated 0.32 -> 0.83 at 1 x the high-band std
(`s18`'s: 0.52 -> 0.30). It learned its negatives' statistics, not "period 4 is fake". Its
D_t scores real triples not advected (0.66) as real as aligned ones (0.66).

Session 12 (`--batches 6`): `s16`'s D_s scored real tiles 0.74, generated 0.36, but real tiles
blurred at sigma 1.5 voxels **0.91** and generated tiles with white noise added 0.57: it
rewarded blur and noise, not detail. Its D_t scored real triples 0.60, generated 0.50, and real
triples with flicker **0.71**: it had not learned temporal coherence (its loss sat at 1.31-1.38
against chance 1.39). After 150 discriminator-only iterations with `--d-negatives 1`
(`/work/runs/dneg_probe`, 5 min): blurred real 0.11, generated + noise 0.04, real + flicker
0.23, generated + flicker 0.19, while real stayed 0.58 (D_s) and 0.55 (D_t).

Session 8 (`--batches 6`, checkpoints in /work/runs): in the three runs trained with the block
projection as the generator's last step and raw real tiles shown to D_s (`proj_gan`, `s7_tc`,
`s8`), D_s scored real tiles 0.91-0.997 and **the same real tiles put through the generator's
projection 0.011-0.049**, as low as generated ones (0.02-0.25): it had learned "block means
follow the input, so generated", which the generator cannot change; two of them also scored
real tiles with another tile's condition as real (1.00), i.e. ignored the condition. The run
without the projection in the loop (`gate_block2`) had no such cue (real 0.70, generated 0.47,
another tile's condition 0.00). Since then training shows D_s and D_t real tiles through the
projection (`Trainer._real`). The generated/real power above k = 0.375 was 0.13-0.16 in `s7_tc`
and `s8`, 0.55-0.58 in `proj_gan` and `gate_block2`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

SIGMAS = (0.7, 1.5)
LATTICE_AMPS = (0.3, 1.0)
BANDS = ((0.0625, 0.125), (0.125, 0.1875), (0.1875, 0.25), (0.25, 0.375), (0.375, 0.5))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="a training run folder")
    p.add_argument("--data", type=Path, required=True, help="the paired data the run trains on")
    p.add_argument("--checkpoint", type=Path, help="default: RUN/checkpoint.pt")
    p.add_argument("--batches", type=int, default=8)
    p.add_argument("--seed", type=int, default=5)
    a = p.parse_args(argv)

    from billow.errors import BillowError
    from billow.metrics.spectrum import radial_spectrum
    from billow.nets import crop
    from billow.ops import gaussian_blur
    from billow.train.config import RunConfig
    from billow.train.plan import load_base_weights
    from billow.train.trainer import Trainer, load_checkpoint

    ckpt = a.checkpoint or a.run / "checkpoint.pt"
    try:
        cfg = RunConfig.from_dict(json.loads((a.run / "config.json").read_text()))
        if not ckpt.exists():
            raise BillowError(f"{ckpt}: no checkpoint")
        cfg = cfg.replace(seed=a.seed)
        t = Trainer(cfg, Path("/tmp") / f"d_probe_{a.run.name}", data_path=a.data)
        load_base_weights(t, load_checkpoint(ckpt))  # the networks only: --seed draws anew
    except (OSError, ValueError, BillowError) as e:
        print(f"d_probe: error: {e}", file=sys.stderr)
        return 2
    for m in t.nets.values():
        m.eval()
    D = t.models["D_s"]
    noise_gen = torch.Generator().manual_seed(a.seed)
    scores: dict[str, list[torch.Tensor]] = {}
    power: dict[str, list[np.ndarray]] = {"real": [], "generated": []}
    k = None

    def score(name, lr_core, tile):
        scores.setdefault(name, []).append(torch.sigmoid(D(lr_core, tile)[0].float()))

    dt_scores = _probe_dt(t, a.batches, noise_gen) if "D_t" in t.models else {}
    with torch.no_grad():
        for _ in range(a.batches):
            lr, hr = t._batch()
            fake = t._generate(lr, [1])[0]
            s = t._loss_scale(lr)
            lr_core = crop(lr[:, 1, :1], cfg.train.context) * s
            # real tiles as training shows them (through the projection since session 8), so
            # the swaps below exchange bands with what D_s learned to call real
            real = crop(t._real(hr[:, 1], lr[:, 1]), t.margin) * s
            gen = crop(fake, t.margin) * s
            dims = tuple(range(1, real.dim()))
            score("real", lr_core, real)
            if cfg.model.projection == "block":
                score("real without the generator's projection", lr_core,
                      crop(hr[:, 1], t.margin) * s)
            score("generated", lr_core, gen)
            for sigma in SIGMAS:
                low_r, low_g = gaussian_blur(real, sigma), gaussian_blur(gen, sigma)
                high_r, high_g = real - low_r, gen - low_g
                score(f"real blurred (sigma {sigma})", lr_core, low_r)
                score(f"real low-pass + generated high band (sigma {sigma})", lr_core,
                      low_r + high_g)
                score(f"generated low-pass + real high band (sigma {sigma})", lr_core,
                      low_g + high_r)
                noise = torch.randn(real.shape, generator=noise_gen)
                noise = noise - gaussian_blur(noise, sigma)
                noise = noise * high_r.std(dim=dims, keepdim=True) / noise.std(dim=dims,
                                                                             keepdim=True)
                score(f"generated + white noise, real's high-band std (sigma {sigma})",
                      lr_core, (gen + noise).clamp(min=0))
            score("real, another tile's condition", lr_core.roll(1, 0), real)
            # a 4-voxel dot lattice (one voxel per 4^d cell raised, zero-mean; not the random
            # patterns --d-negative-kinds lattice trains on), a x the real high band's std
            std = (real - gaussian_blur(real, SIGMAS[1])).std(dim=dims, keepdim=True)
            for name, tile in (("real", real), ("generated", gen)):
                for amp in LATTICE_AMPS:
                    score(f"{name} + 4-voxel dots ({amp} x real high-band std)", lr_core,
                          (tile + amp * std * _dots(real)).clamp(min=0))
            # iso-line rings as --d-negative-kinds contours draws them (the ringing s25 printed)
            for name, tile in (("real", real), ("generated", gen)):
                score(f"{name} + dark iso-line contours", lr_core, t._contours(tile))
            for i in range(real.shape[0]):
                sr = radial_spectrum(real[i, 0].numpy())
                power["real"].append(sr.power)
                power["generated"].append(radial_spectrum(gen[i, 0].numpy()).power)
                k = sr.k
    print(f"{a.run} ({ckpt.name}), {a.batches} batches of {cfg.train.batch} tiles, "
          f"{real.shape[-1]}^{real.dim() - 2} voxels")
    print("| tiles shown to D_s | mean P(real) | share > 0.5 |")
    print("|---|---|---|")
    for name, v in scores.items():
        v = torch.cat(v)
        print(f"| {name} | {float(v.mean()):.3f} | {float((v > 0.5).float().mean()):.2f} |")
    if dt_scores:
        print("\n| triples shown to D_t | mean P(real) | share > 0.5 |")
        print("|---|---|---|")
        for name, v in dt_scores.items():
            v = torch.cat(v)
            print(f"| {name} | {float(v.mean()):.3f} | {float((v > 0.5).float().mean()):.2f} |")
    # pooled, the tiles with the largest loss scale (near-empty ones, scaled by up to 1/1e-3)
    # dominate; the per-tile median is what a typical tile gets
    pr, pg = np.asarray(power["real"]), np.asarray(power["generated"])
    print("\n| band (cycles / voxel) | generated / real power, pooled | per-tile median |")
    print("|---|---|---|")
    for lo, hi in BANDS:
        m = (k > lo + 1e-9) & (k <= hi + 1e-9)
        r, g = pr[:, m].sum(1), pg[:, m].sum(1)
        print(f"| ({lo}, {hi}] | {g.sum() / r.sum():.3f} | "
              f"{np.median(g / np.maximum(r, 1e-30)):.3f} |")
    return 0


def _dots(like: torch.Tensor) -> torch.Tensor:
    """A unit-std zero-mean pattern with one raised voxel per 4^d cell, shaped like `like`."""
    d = like.dim() - 2
    cell = torch.zeros((4,) * d)
    cell[(0,) * d] = 1.0
    cell = (cell - cell.mean()) / cell.std()
    reps = tuple(-(-n // 4) for n in like.shape[2:])
    return cell.repeat(reps)[tuple(slice(0, n) for n in like.shape[2:])]


def _probe_dt(t, batches: int, noise_gen: torch.Generator) -> dict[str, list[torch.Tensor]]:
    """D_t's P(real) on triples built as training builds them (advected, through the
    projection, loss-scaled) and on triples whose time axis is broken: flicker (independent
    high-band noise per frame, the real middle frame's high-band std), the same noise frozen
    in place in all three frames (detail that does not move with the smoke), and the real
    frames unaligned (no advection). A D_t that scores the broken real triples as real has
    not learned what temporal coherence looks like; one that rejects them but scores
    generated triples near 0.5 finds the generator's sequences as coherent as the real ones."""
    from billow.nets import crop
    from billow.ops import gaussian_blur

    mode, D = t.temporal, t.models["D_t"]
    out: dict[str, list[torch.Tensor]] = {}

    def score(name, triple):
        out.setdefault(name, []).append(torch.sigmoid(D(triple)[0].float()))

    def high_noise(like, std):
        n = torch.randn(like.shape, generator=noise_gen)
        n = n - gaussian_blur(n, SIGMAS[0])
        dims = tuple(range(1, like.dim()))
        return n * std / n.std(dim=dims, keepdim=True)

    with torch.no_grad():
        for _ in range(batches):
            lr, hr = t._batch()
            s = t._loss_scale(lr)
            fake3 = [f * s for f in t._generate(lr, [0, 1, 2])]
            real3 = [t._real(hr[:, i], lr[:, i]) * s for i in range(3)]
            lr3 = [lr[:, i] for i in range(3)]
            dims = tuple(range(1, real3[1].dim()))
            std = (real3[1] - gaussian_blur(real3[1], SIGMAS[0])).std(dim=dims, keepdim=True)
            frozen = high_noise(real3[1], std)
            score("real", mode.align(real3, lr3))
            score("generated", mode.align(fake3, lr3))
            score("real + flicker (new noise each frame)",
                  mode.align([(r + high_noise(r, std)).clamp(min=0) for r in real3], lr3))
            score("real + frozen noise (same in all three frames)",
                  mode.align([(r + frozen).clamp(min=0) for r in real3], lr3))
            score("generated + flicker",
                  mode.align([(f + high_noise(f, std)).clamp(min=0) for f in fake3], lr3))
            m = mode.margin
            score("real, frames not advected",
                  torch.cat([crop(f, m) for f in real3], dim=1))
    return out


if __name__ == "__main__":
    sys.exit(main())
