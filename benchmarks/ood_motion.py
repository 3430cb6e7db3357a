"""Flicker you can see: an animated GIF and a flicker map of one out-of-family set, every method
side by side (session 19). A still picture cannot show boiling; these do.

    python benchmarks/ood_motion.py --set-dir /work/data/ood/ood_dense_128 \\
        --eval-dir /work/data/ood_eval/ood_dense_128 --methods tricubic,s6,s28c \\
        --labels "tricubic,previous default (s6),billow s28c" --out docs/results/ood_motion_dense

writes OUT.gif and OUT.png. Columns: the input (nearest-neighbour, so its cells show), each
method, the reference (`hr`). In the GIF, per frame: the mid z slice of density (top row, one
colour scale for all) and the high-passed frame-to-frame change hp(y_t - y_{t-1}) on the same
slice (bottom row, one signed scale for all: detail that moves slowly barely changes, detail
re-drawn every frame flashes). The PNG is the flicker map: the RMS over time of that change
along the slice, each column divided by the RMS of its own high band (the per-voxel version of
`billow eval`'s flicker), with the set-wide figure of `temporal_filter_probe`'s measure in the
label. High-pass = minus the training blur (sigma = 4 / (2 sqrt(pi)) high-res cells), as in
`billow.metrics.temporal`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from billow.io import parse_frames
from billow.metrics.render import slice_image
from billow.metrics.temporal import high_pass
from billow.nets import FACTOR
from ood_look import density, frame_file, set_shape


def columns(a, frames, shape):
    """{label: (density slices [T, H, W], high-passed change slices [T-1, H, W], the high
    band's RMS)} for the input, the methods and the reference."""
    sim = a.set_dir / "vdb" / "sim_0000"
    sources = [("input (nearest)", None, "lr")]
    sources += [(label, a.eval_dir / m, None) for m, label in zip(a.methods, a.labels)]
    sources.append(("reference", None, "hr"))
    out = {}
    for label, folder, prefix in sources:
        low = prefix == "lr"

        dens, change, band, prev = [], [], [], None
        for f in frames:
            path = frame_file(folder, f) if folder else sim / f"{prefix}.{f:04d}.vdb"
            y = torch.from_numpy(density(path, tuple(n // FACTOR for n in shape) if low
                                         else shape))
            if low:
                y = y.repeat_interleave(FACTOR, 0).repeat_interleave(FACTOR, 1) \
                     .repeat_interleave(FACTOR, 2)
            hp = high_pass(y, FACTOR)
            band.append(float(hp.pow(2).mean()))
            dens.append(slice_image(y, "z"))
            if prev is not None:
                change.append(slice_image(hp - prev, "z"))
            prev = hp
        out[label] = (np.stack(dens), np.stack(change), float(np.sqrt(np.mean(band))))
        print(f"{label}: {len(frames)} frames read", flush=True)
    return out


def gif(cols, frames, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    vmax = max(float(d.max()) for d, _, _ in cols.values())
    smax = max(float(np.percentile(np.abs(c), 99.5)) for _, c, _ in cols.values())
    images = []
    for t in range(1, len(frames)):
        fig, ax = plt.subplots(2, len(cols), figsize=(1.7 * len(cols), 3.6), squeeze=False)
        for j, (label, (d, c, _)) in enumerate(cols.items()):
            ax[0, j].imshow(d[t], cmap="gray", vmin=0, vmax=vmax)
            ax[1, j].imshow(c[t - 1], cmap="RdBu_r", vmin=-smax, vmax=smax)
            ax[0, j].set_title(label, fontsize=8)
            for k in (0, 1):
                ax[k, j].axis("off")
        ax[1, 0].set_title("hp change from the previous frame", fontsize=7, loc="left")
        fig.suptitle(f"frame {frames[t]}", fontsize=9)
        fig.tight_layout()
        fig.canvas.draw()
        images.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3]))
        plt.close(fig)
    images[0].save(path, save_all=True, append_images=images[1:], duration=250, loop=0)


def slice_flicker(cols):
    """({label: per-pixel RMS over time of the high-passed change / RMS of the high band},
    {label: the slice's flicker over the reference's})."""
    maps = {k: np.sqrt((c ** 2).mean(0)) / band for k, (_, c, band) in cols.items()}
    whole = {k: float(np.sqrt((c ** 2).mean())) / band for k, (_, c, band) in cols.items()}
    return maps, {k: v / whole["reference"] for k, v in whole.items()}


def flicker_map(cols, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    maps, ratios = slice_flicker(cols)
    vmax = float(np.percentile(maps["reference"], 99.5)) * 3
    fig, ax = plt.subplots(1, len(maps), figsize=(2.4 * len(maps), 2.9), squeeze=False)
    for j, (label, m) in enumerate(maps.items()):
        ax[0, j].imshow(m, cmap="magma", vmin=0, vmax=vmax)
        ax[0, j].set_title(f"{label}\nslice flicker {ratios[label]:.2f}x ref", fontsize=8)
        ax[0, j].axis("off")
    fig.suptitle("RMS over time of hp(y_t - y_{t-1}) / RMS of the high band (mid z slice)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set-dir", type=Path, required=True)
    p.add_argument("--eval-dir", type=Path, required=True)
    p.add_argument("--methods", required=True, help="comma-separated folders of --eval-dir")
    p.add_argument("--labels", help="comma-separated labels (default: the method names)")
    p.add_argument("--frames", default="1-20")
    p.add_argument("--out", type=Path, required=True, help="OUT.gif and OUT.png are written")
    a = p.parse_args(argv)
    a.methods = [m for m in a.methods.split(",") if m]
    a.labels = a.labels.split(",") if a.labels else a.methods
    if len(a.labels) != len(a.methods):
        raise SystemExit("ood_motion: --labels needs one label per method")
    shape = set_shape(a.set_dir)
    frames = parse_frames(a.frames)
    cols = columns(a, frames, shape)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    gif(cols, frames, a.out.with_suffix(".gif"))
    flicker_map(cols, a.out.with_suffix(".png"))
    print(f"wrote {a.out.with_suffix('.gif')} and {a.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
