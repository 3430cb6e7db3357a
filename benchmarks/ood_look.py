"""Look at one frame of an out-of-family set: mid-z slices (whole and zoomed) and the
high-passed slice (minus a Gaussian blur of 2 voxels, where a 4-voxel lattice shows at once),
for the input (each voxel a 4^3 block), tricubic, any number of upres outputs, and the
reference; prints each one's L1 to the reference and mass ratio.

    python benchmarks/ood_look.py --data /work/data/ood --set phi_dense_128 --frame 15 \\
        --out docs/results/look.png old=OUT/old/up.0015.vdb new=OUT/new/up.0015.vdb
"""

from __future__ import annotations

import argparse

import numpy as np
import torch


def dense(grid, shape) -> np.ndarray:
    """A grid's voxels in a zero block of `shape` from index 0 (sets start at the origin); a
    vector grid keeps its last axis."""
    a = np.zeros(tuple(shape) + grid.data.shape[3:], np.float32)
    sl = tuple(slice(max(o, 0), min(o + n, s)) for o, n, s in zip(grid.offset, grid.shape, shape))
    src = tuple(slice(b.start - o, b.stop - o) for b, o in zip(sl, grid.offset))
    a[sl] = grid.data[src]
    return a


def set_shape(set_dir) -> tuple[int, ...]:
    """The high-res domain of a set folder (`set.json`'s `hr_res`); one clear line and exit 2
    when the folder is not a set."""
    import json
    import sys
    from pathlib import Path

    info = Path(set_dir) / "set.json"
    try:
        return tuple(json.loads(info.read_text())["hr_res"])
    except (OSError, ValueError, KeyError) as e:
        print(f"{info}: not an out-of-family set's description ({type(e).__name__}: {e}); "
              "make sets with `ood_benchmark.py generate`", file=sys.stderr)
        raise SystemExit(2) from None


def density(path, shape) -> np.ndarray:
    """A frame's density grid (found by its aliases, as `billow upres` finds it) in a zero block
    of `shape`: input, output or reference VDB alike."""
    from billow.io import ReadOptions, read_smoke_frame

    return dense(read_smoke_frame(path, ReadOptions(require_velocity=False)).density, shape)


def frame_file(folder, frame: int):
    """The one `*.NNNN.vdb` of `frame` in a method's output folder."""
    from pathlib import Path

    found = sorted(Path(folder).glob(f"*.{frame:04d}.vdb"))
    if len(found) != 1:
        raise SystemExit(f"{len(found)} files for frame {frame} in {folder}")
    return found[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--set", required=True)
    ap.add_argument("--frame", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("outputs", nargs="*", help="NAME=PATH of upres outputs of that frame")
    args = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from billow.io import read_grid
    from billow.ops import gaussian_blur, upsample

    base = f"{args.data}/{args.set}/vdb/sim_0000"
    lr = read_grid(f"{base}/lr.{args.frame:04d}.vdb", "density")
    hr = read_grid(f"{base}/hr.{args.frame:04d}.vdb", "density")
    lo_shape = tuple(int(v) for v in np.add(lr.offset, lr.shape))
    hi_shape = tuple(4 * v for v in lo_shape)
    low, ref = dense(lr, lo_shape), dense(hr, hi_shape)
    tc = upsample(torch.from_numpy(low)[None, None], 4, "tricubic")[0, 0].clamp(min=0).numpy()
    panels = [("input", np.kron(low, np.ones((4, 4, 4), np.float32))), ("tricubic", tc)]
    for item in args.outputs:
        name, path = item.split("=", 1)
        panels.append((name, dense(read_grid(path, "density"), hi_shape)))
    panels.append(("reference", ref))
    z = hi_shape[2] // 2
    vmax = float(np.percentile(ref[..., z], 99.5)) or 1.0
    cx, cy = hi_shape[0] // 4, hi_shape[1] // 16
    w = hi_shape[0] // 2
    fig, axes = plt.subplots(3, len(panels), figsize=(3.0 * len(panels), 9))
    for i, (title, a) in enumerate(panels):
        hp = a - gaussian_blur(torch.from_numpy(a)[None, None], 2.0)[0, 0].numpy()
        rows = [(a[:, :, z].T, "inferno", 0, vmax), (a[cx:cx + w, cy:cy + w, z].T, "inferno", 0,
                                                     vmax),
                (hp[cx:cx + w, cy:cy + w, z].T, "RdBu", -0.15 * vmax, 0.15 * vmax)]
        for r, (img, cmap, lo, hi) in enumerate(rows):
            axes[r, i].imshow(img, origin="lower", cmap=cmap, vmin=lo, vmax=hi,
                              interpolation="nearest")
            axes[r, i].axis("off")
        axes[0, i].set_title(title)
        if title != "reference":
            print(f"{title}: L1 {np.abs(a - ref).mean():.4g}, mass {a.sum() / ref.sum():.3f}")
    axes[2, 0].set_ylabel("high-passed")
    fig.suptitle(f"{args.set} frame {args.frame}: slice z={z}; zoom; zoom high-passed")
    fig.tight_layout()
    fig.savefig(args.out, dpi=70)
    print(f"ood_look: wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
