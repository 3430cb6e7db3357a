"""Where a smooth generator's 4-voxel lattice appears: the lattice measure of each stage of its
forward pass on one low-res frame.

    python benchmarks/lattice_stages.py FRAME.vdb MODEL.onnx [MODEL.onnx ...] [--shell 4]

FRAME is a low-res smoke VDB (density and velocity); each MODEL a `smooth` network with torch
weights beside its card (NAME.json, NAME.pt). The input is normalised by the frame's whole-frame
scales as `billow upres` does (`billow.ops.normalise.frame_scales`). Prints, per model, the
lattice measure (`billow.metrics.artefacts.lattice_measure`, `shell` voxels at the faces set to
0) of `SmoothGenerator.stages`: base (the interpolated density), structure and detail (the
residual's two channels), sum, clamped (its ReLU), projected (after the projection) and output
(after the lattice notch of `--lattice-notch` models; the same as projected without one).

Session 12, `ood_wisps_128` frame 10 / `phi_wisps_128` frame 10 / `ood_dense_256` frame 3:
the residuals carry no lattice (0.4-0.8, below the base's 0.95-0.98), nor does their sum with
the base (0.5-0.8); **the clamp at 0 makes it**: `s18` 0.58 -> 1.64, 0.69 -> 2.25 and 0.51 ->
8.17 (the projection then adds a little: 2.13, 2.86, 9.34); the default 0.57 -> 0.90, 0.83 ->
1.09, 0.46 -> 1.01. So in `s18` the pattern comes from where the network pushes the density
below 0 and the ReLU cuts it, not from the up-sampling path. But 282 iterations with
`--lambda-negative 1` (`s19`) only moved it into the residual and the projection's clamp (output
2.08 / 2.70 / 8.20): the pattern is learned, and `s16`'s D_s scored tiles with a 4-voxel pattern
added as more real (`benchmarks/ood_results_smooth.md`, session 12).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

STAGES = ("base", "structure", "detail", "sum", "clamped", "projected", "output")


def network_input(rho, vel):
    """(the network's input for low-res density `rho` and velocity `vel` [..., 3], divided by
    the frame's whole-frame scales as `billow upres` does, the density scale s_d)."""
    import numpy as np
    import torch
    from billow.ops.normalise import frame_scales

    s_d, s_v = frame_scales(rho, vel)
    x = torch.cat([torch.from_numpy(np.asarray(rho / s_d, np.float32))[None, None],
                   torch.from_numpy(np.moveaxis(vel / s_v, -1, 0).astype(np.float32))[None]],
                  dim=1)
    return x, s_d


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("frame", type=Path, help="a low-res smoke VDB with density and velocity")
    p.add_argument("models", type=Path, nargs="+", help="smooth models (NAME.onnx with "
                   "NAME.json and NAME.pt beside it)")
    p.add_argument("--shell", type=int, default=4, help="voxels at each face left out "
                   "(default 4: one low-res cell, as the benchmark's 'inside' measure)")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)

    import numpy as np
    import torch
    from billow.errors import BillowError
    from billow.infer.backends import torch_module_from_card
    from billow.io.frame import read_smoke_frame
    from billow.io.model_card import load_card
    from billow.metrics.artefacts import lattice_measure

    torch.set_num_threads(a.threads)
    try:
        frame = read_smoke_frame(a.frame)
        if frame.velocity is None:
            raise BillowError(f"{a.frame}: no velocity grid (the gated models read it)")
        rho = frame.density.data.astype(np.float32)
        vel = frame.velocity.data.astype(np.float32)
        if vel.shape[:3] != rho.shape:
            raise BillowError(f"{a.frame}: velocity {vel.shape[:3]} is not on the density's "
                              f"voxels {rho.shape}")
        nets = []
        for m in a.models:
            net = torch_module_from_card(load_card(m)).eval()
            if not hasattr(net, "stages"):
                raise BillowError(f"{m}: not a smooth generator (no stages to measure)")
            nets.append((m, net))
    except (OSError, ValueError, BillowError) as e:
        print(f"lattice_stages: error: {e}", file=sys.stderr)
        return 2
    x, _ = network_input(rho, vel)
    print(f"{a.frame}: {tuple(rho.shape)} low-res cells; lattice measure (shell {a.shell})")
    print("| model | " + " | ".join(STAGES) + " |")
    print("|---" * (len(STAGES) + 1) + "|")
    for m, net in nets:
        with torch.no_grad():
            st = net.stages(x)
        row = [f"{lattice_measure(st[k][0, 0].numpy(), shell=a.shell):.2f}" for k in STAGES]
        print(f"| {m.stem} | " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
