"""Tables and pictures of the out-of-family benchmark (`ood_benchmark.py eval`): the Markdown
table of every set and method with the mean over the primary sets, and the slice/projection
pictures (input, methods, reference on one colour scale per row)."""

from __future__ import annotations

import math
import shlex
import sys
from pathlib import Path

FACTOR = 4


def nearest(x):
    import numpy as np

    return np.repeat(np.repeat(np.repeat(x, FACTOR, 0), FACTOR, 1), FACTOR, 2)


def picture_planes(vol):
    """Mid z slice and max projection along z of a volume, as [2, H, W] (display orientation),
    kept so the overview picture needs no VDB re-read."""
    import numpy as np

    from billow.metrics import projection, slice_image

    return np.stack([slice_image(vol, "z"), projection(vol, "z", "max")])


def edge_window(plane, size: int):
    """(row, col) slices of a `size` square around the lower edge of the smoke in a display
    plane (rows top to bottom): where the issue saw edges torn into 4-voxel steps."""
    import numpy as np

    h, w = plane.shape
    size = min(size, h, w)
    rows = plane.mean(1)
    smoke = np.nonzero(rows > 0.2 * rows.max())[0] if rows.max() > 0 else np.array([h // 2])
    bottom = int(smoke.max())
    r0 = int(np.clip(bottom - 3 * size // 4, 0, h - size))
    cols = plane[max(bottom - 4, 0):bottom + 1].mean(0)
    c = int(np.argmax(np.convolve(cols, np.ones(size), "same"))) if cols.max() > 0 else w // 2
    c0 = int(np.clip(c - size // 2, 0, w - size))
    return slice(r0, r0 + size), slice(c0, c0 + size)


def picture(rows: list[tuple[str, dict]], methods: list[str], path: Path) -> None:
    """Columns: input (nearest), the methods, reference; three rows per frame: the mid z slice,
    the max projection along z (`picture_planes` of each) and a zoom on the slice at the lower
    edge of the smoke (a quarter of the width, to show 4-voxel patterns and torn edges). One
    colour scale per row, shared by every column."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cols = ["input", *methods, "reference"]
    n = 3
    fig, axes = plt.subplots(n * len(rows), len(cols), figsize=(2.2 * len(cols),
                                                                 2.35 * n * len(rows)),
                             squeeze=False)
    for r, (title, shown) in enumerate(rows):
        imgs = {c: shown[c] for c in cols if c in shown}
        ref = imgs.get("reference", next(iter(imgs.values())))
        win = edge_window(ref[0], max(16, ref.shape[-1] // 4))
        for p, label in enumerate(("mid z slice", "max along z", "zoom: slice, lower edge")):
            plane = 0 if p == 2 else p
            vmax = max(float(np.percentile(imgs[c][plane], 99.9)) for c in ("input",
                                                                            "reference")
                       if c in imgs) or 1.0
            for j, c in enumerate(cols):
                ax = axes[n * r + p, j]
                ax.set_xticks([])
                ax.set_yticks([])
                if c in imgs:
                    img = imgs[c][plane][win] if p == 2 else imgs[c][plane]
                    ax.imshow(img, cmap="inferno", vmin=0.0, vmax=vmax,
                              interpolation="nearest")
                if p == 0:
                    ax.set_title(c, fontsize=9)
                if j == 0:
                    ax.set_ylabel(f"{title}\n{label}\n(0..{vmax:.2f})", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def set_picture(result: dict, methods: list[str]) -> None:
    """Redraw OUT/<set>/frames.png from the planes `eval` kept (picture_frames.npz)."""
    import numpy as np

    folder = Path(result["picture"]).parent
    rows = []
    with np.load(folder / "picture_frames.npz") as z:
        for t in result["picture_frames"]:
            rows.append((f"{result['set']} frame {t}",
                         {k.split("_", 1)[1]: z[k] for k in z.files if k.startswith(f"f{t}_")}))
    picture(rows, methods, folder / "frames.png")


def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}g}"


COLUMNS = (("L1", "l1"), ("L1/tricubic", "l1_over_tricubic"), ("mass", "mass_ratio"),
           ("spectrum err", "spectrum_error"), ("residual/ref", "residual_ratio"),
           ("flicker/ref", "flicker_ratio"), ("lattice", "lattice"),
           ("lattice/ref", "lattice_over_reference"),
           ("lattice in/ref", "lattice_in_over_reference"), ("HB vs0/vs1", "hb_vs0"),
           ("HB vs2/vs1", "hb_vs2"), ("equiv relL1 x0.1", "eq_rel_l1_x0.1"),
           ("equiv relL1 x10", "eq_rel_l1_x10"), ("equiv mass x0.1", "eq_mass_x0.1"),
           ("equiv mass x10", "eq_mass_x10"), ("brightness/input", "brightness_ratio"))


def table(results: list[dict], methods: list[str], primary: list[str]) -> str:
    head = "| set | method | " + " | ".join(c for c, _ in COLUMNS) + " |"
    lines = [head, "|---" * (len(COLUMNS) + 2) + "|"]
    for r in results:
        for m in methods:
            row = r["methods"].get(m, {})
            lines.append(f"| {r['set']} | {m} | " + " | ".join(_fmt(row.get(k)) for _, k in
                                                             COLUMNS) + " |")
        ref = r["reference"]
        cells = {"residual_ratio": 1.0, "flicker_ratio": 1.0, "lattice": ref.get("lattice"),
                 "lattice_over_reference": 1.0, "lattice_in_over_reference": 1.0,
                 "brightness_ratio": ref.get("brightness_ratio")}
        lines.append(f"| {r['set']} | *reference* | " + " | ".join(_fmt(cells.get(k)) for _, k
                                                                    in COLUMNS) + " |")
    chosen = [r for r in results if r["set"] in primary]
    for m in methods:
        means = {}
        for _, k in COLUMNS:
            v = [r["methods"].get(m, {}).get(k) for r in chosen]
            v = [x for x in v if x is not None and math.isfinite(x)]
            means[k] = sum(v) / len(v) if len(v) == len(chosen) and v else None
        lines.append(f"| **mean** | {m} | " + " | ".join(_fmt(means[k]) for _, k in COLUMNS)
                     + " |")
    v = [r["reference"].get("lattice") for r in chosen]
    b = [r["reference"].get("brightness_ratio") for r in chosen]
    ref_mean = {"residual_ratio": 1.0, "flicker_ratio": 1.0, "lattice_over_reference": 1.0,
                "lattice_in_over_reference": 1.0,
                "lattice": sum(v) / len(v) if v and None not in v else None,
                "brightness_ratio": sum(b) / len(b) if b and None not in b else None}
    lines.append("| **mean** | *reference* | " + " | ".join(_fmt(ref_mean.get(k)) for _, k in
                                                         COLUMNS) + " |")
    return "\n".join(lines)


def overview(results, names, out: Path) -> None:
    """OUT/frames.png: the densest frame of the first dense set and the faintest frame of the
    first wispy set (primary inputs)."""
    import numpy as np

    rows = []
    for tag, pick in (("dense", 0), ("wispy", -1)):
        r = next((r for r in results if tag in r["tags"] and "+" not in r["set"]), None)
        if r is None:
            continue
        t = r["picture_frames"][pick]
        with np.load(Path(r["picture"]).parent / "picture_frames.npz") as z:
            shown = {k.split("_", 1)[1]: z[k] for k in z.files if k.startswith(f"f{t}_")}
        rows.append((f"{tag}: {r['set']} frame {t}", shown))
    if rows:
        picture(rows, names, out / "frames.png")


def table_doc(a, results, methods, primary, md) -> str:
    models = ", ".join(f"{m['name']} = {m['path']}" for m in methods if m["kind"] == "model")
    return (f"# Out-of-family benchmark\n\nCommand: `{shlex.join(['python', *sys.argv])}`\n\n"
            f"Methods: {', '.join(m['name'] for m in methods)}"
            f"{' (' + models + ')' if models else ''}.\n\n{md}\n\n"
            f"Mean over the {len(primary)} sets with the default input (4x4x4 box average): "
            f"{', '.join(primary)}. Sets named `+gauss` use billow's training derivation as the "
            "input instead (extra, not in the mean). L1 and the ratios of `billow eval` are over "
            "every frame; lattice (period-4 lattice bins over their neighbours, high-passed "
            "field; 'in': one low-res cell in from the domain walls), HB (high-band energy above the input's Nyquist at --velocity-scale 0 and 2 "
            "over 1), equivariance (upres(k x input)/k vs upres(input): relative L1 and total "
            "mass ratio) and brightness (orthographic absorption render, sigma = "
            "billow.metrics.artefacts.BRIGHTNESS_SIGMA per world unit, over the input's) are on "
            f"{a.metric_frames} frames per set. Sets of 256^3 are evaluated on their first "
            f"{a.large_frames or 'all'} frames. '-' = not measured (see README_ood.md).\n")
