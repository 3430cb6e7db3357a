"""Where a gated model's velocity-scale response comes from: the high-band energy of its output
at slider k = 0 / 1 / 2 (relative to 1), with the velocity scaled for the whole network (what
`billow upres --velocity-scale k` did up to session 8, and still does for models without a
speed gate) and with k as the model's `detail` channel, which scales the speed the gate reads
and nothing else (what `billow upres` does for gated models since session 9). Equal rows mean
the trunk does not respond to the speed and the response is the gated channel's own.

    python benchmarks/slider_source.py MODEL.onnx [...] --data /work/data/ood \
        [--sets phi_dense_128,phi_wisps_128] [--frame 15]

MODEL is a card with torch weights beside it (`.pt`) and `detail_gate: "speed"`; the sets are
PhiFlow sets of the out-of-family benchmark (`raw/frame_NNNN.npz`, high-res density and
velocity; the input is their 4^3 box average, as in the benchmark).

Session 8, frame 15 (whole network / gate only): the default (session 6) 0.45 / 1 / 1.22 and
0.43 / 1 / 1.35 on phi_dense_128, 0.53 / 1 / 1.28 and 0.51 / 1 / 1.31 on phi_wisps_128; `s10`
**1.70 / 1 / 0.96 but 0.57 / 1 / 1.27** (phi_dense_128) and **1.31 / 1 / 1.07 but 0.65 / 1 /
1.20** (phi_wisps_128). `s10`'s inverted slider is its trunk answering the scaled velocity
(at k = 0 it sees still smoke and makes more high-band structure), not its gated channel: with
the slider on the gate alone it works. Session 9 made that the product's slider.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", type=Path)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--sets", default="phi_dense_128,phi_wisps_128")
    p.add_argument("--frame", type=int, default=15)
    a = p.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from billow.errors import BillowError
    from billow.infer.backends import torch_module_from_card
    from billow.io.model_card import load_card
    from billow.metrics.artefacts import high_band_energy
    from billow.ops.normalise import frame_sums, scales_from_sums

    nets = {}
    paths = [a.data / n / "raw" / f"frame_{a.frame:04d}.npz" for n in a.sets.split(",")]
    try:  # every input checked before the first row
        for model in a.models:
            nets[model] = torch_module_from_card(load_card(model)).eval()
            if getattr(nets[model].cfg, "detail_gate", "none") != "speed":
                raise BillowError(f"{model}: not a speed-gated model")
        for path in paths:
            if not path.exists():
                raise BillowError(f"{path}: no such frame")
    except (OSError, BillowError) as e:
        print(f"slider_source: error: {e}", file=sys.stderr)
        return 2
    print("| model | set | velocity scaled for | HB at k = 0 / 1 / 2 |")
    print("|---|---|---|---|")
    for model, net in nets.items():
        for path in paths:
            name = path.parent.parent.name
            raw = np.load(path)
            den = F.avg_pool3d(torch.from_numpy(raw["density"])[None, None].float(), 4)
            vel = F.avg_pool3d(torch.from_numpy(raw["velocity"])[None].float(), 4)
            s_d, s_v = scales_from_sums(frame_sums(den[0, 0].numpy(),
                                                   np.moveaxis(vel[0].numpy(), 0, -1)))
            for mode in ("whole network", "gate only"):
                hb = {}
                for k in (0.0, 1.0, 2.0):
                    if mode == "whole network":
                        x = torch.cat([den / s_d, vel / s_v * k], 1)
                    else:  # the detail channel: the gate's speed alone is scaled
                        x = torch.cat([den / s_d, vel / s_v, torch.full_like(den, k)], 1)
                    with torch.no_grad():
                        y = net(x)[0, 0].numpy()
                    hb[k] = high_band_energy(y, 4)
                print(f"| {model.stem} | {name} | {mode} | {hb[0.0] / hb[1.0]:.2f} / 1 / "
                      f"{hb[2.0] / hb[1.0]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
