"""How much of the upres flicker does the velocity input drive? Writes a copy of an
out-of-family set's low-res input with the velocity replaced, for `billow upres` and
`temporal_filter_probe.py --taps 1` to measure (session 19; a probe, not a product feature).

    python benchmarks/velocity_input_probe.py --set-dir /work/data/ood/ood_dense_128 \\
        --out /work/data/velexp/frozen --mode frozen
    billow upres '/work/data/velexp/frozen/lr.####.vdb' 'out_frozen/up.####.vdb' --threads 1
    python benchmarks/temporal_filter_probe.py --set-dir /work/data/ood/ood_dense_128 \\
        --method out_frozen --tricubic /work/data/ood_eval/ood_dense_128/tricubic --taps 1

Modes: `frozen` (every frame gets the first frame's velocity: what is left of the flicker then
comes from the density alone) and `causalK` (the mean of the last K frames' velocities, a
filter a farm could run on inputs alone, since every frame's inputs are on disk). Density and
velocity are written on the whole low-res domain (zeros outside the smoke); frame 1 of `frozen`
upres'es bit-identically to the original frame 1 (checked in session 19).

Measured in session 19, s28c (the shipped default) on ood_dense_128, frames 1-20, flicker over
the reference's (`billow eval`'s figure for the original input: 1.639): original 1.64, causal3
1.58, frozen 1.41 (L1/tricubic 1.090, 1.090, 1.096; spectrum error 0.527, 0.527, 0.526). So the
velocity input drives about a third of the excess flicker; most comes from the density's slow
sub-cell motion, to which the network's detail is not equivariant.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from billow.io import read_smoke_frame, write_smoke_frame
from billow.nets import FACTOR
from ood_look import dense, set_shape


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set-dir", type=Path, required=True, help="an ood_benchmark set folder")
    p.add_argument("--out", type=Path, required=True, help="folder for lr.NNNN.vdb")
    p.add_argument("--mode", required=True, help="frozen or causalK (K >= 1)")
    a = p.parse_args(argv)
    if a.mode != "frozen" and not (a.mode.startswith("causal") and a.mode[6:].isdigit()
                                   and int(a.mode[6:]) >= 1):
        raise SystemExit(f"velocity_input_probe: unknown --mode '{a.mode}' (frozen, causalK)")
    shape = tuple(n // FACTOR for n in set_shape(a.set_dir))
    sim = a.set_dir / "vdb" / "sim_0000"
    frames = [read_smoke_frame(p) for p in sorted(sim.glob("lr.*.vdb"))]
    vels = [dense(f.velocity, shape) for f in frames]
    a.out.mkdir(parents=True, exist_ok=True)
    for t, f in enumerate(frames):
        k = 0 if a.mode == "frozen" else int(a.mode[6:])
        v = vels[0] if a.mode == "frozen" else np.mean(vels[max(0, t - k + 1):t + 1], 0)
        d = replace(f.density, data=dense(f.density, shape), offset=(0, 0, 0))
        vel = replace(f.velocity, data=v.astype(np.float32), offset=(0, 0, 0))
        write_smoke_frame(a.out / f.path.name, replace(f, density=d, velocity=vel))
    print(f"{len(frames)} frames written to {a.out}")


if __name__ == "__main__":
    main()
