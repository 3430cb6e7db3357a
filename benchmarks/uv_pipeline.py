"""temporalUV pre-processing on the synthetic benchmark: the effect of each stage (Sec. 5.2.1-5.2.3;
the trends of the dissertation's Fig. 5.3 and 5.6).

For raw, extended, optimised and relocated UVs (and the ground truth for reference) the frames
are reconstructed from one constant texture T_o, the texture of the reference frame splatted
with that stage's UVs, I'_t = W(T_o, omega_I(P_t)), and compared with the real frames:

- PSNR over the figure (foreground and UV mask; missing garment pixels count) and over the UV
  mask only ("cropped to fit" the UVs), SSIM of whole frames;
- tOF and T-diff against the real frames' motion, T-diff with the UVs' own motion (App. C.2);
- "self" PSNR: each frame from its own texture, W(W(I_t, omega_T(P_t)), omega_I(P_t)), the
  quantity that UV optimisation minimises (Fig. 5.6);
- UV error in texels to the ground truth on the raw (body) pixels.

    python benchmarks/uv_pipeline.py --bench /work/data/uvbench --out /tmp/uv_pipeline \
        [--frames 1-48] [--heldout 30] [--iters 100] [--alpha1 100 --alpha2 10] [--threads 2]

Prints the wall time of each stage and a markdown table; writes OUT/table.md, OUT/metrics.json
(per-frame series), OUT/strip_FRAME.png (real | raw | extended | optimised | relocated |
ground truth, all from T_o) and OUT/temporal.png (T-diff and tOF over time).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from billow.uv import io as uvio
from billow.uv import warp
from billow.uv.evaluate import constant_texture, evaluate, reconstruct
from billow.uv.extend import ExtendConfig
from billow.uv.optimise import OptimiseConfig, uv_error
from billow.uv.preprocess import preprocess
from billow.uv.relocate import RelocateConfig

COLUMNS = [("psnr", "PSNR figure (dB)", 2), ("psnr_uv", "PSNR in UV mask (dB)", 2),
           ("ssim", "SSIM", 4), ("self_psnr", "self PSNR (dB)", 2), ("tof", "tOF", 4),
           ("tdiff", "T-diff", 4), ("tdiff_uv", "T-diff UV (C.2)", 4),
           ("uv_err", "UV err body (texels)", 2)]


def self_psnr(rgb, uv, mask, size) -> float:
    u, m = warp.to_torch_uv(uv, mask)
    img = warp.to_torch_image(rgb) * m[:, None]
    with torch.no_grad():
        rec = warp.round_trip(img, u, m, size)
    mse = float(((rec - img) ** 2).sum() / (m.sum() * 3))
    return -10.0 * np.log10(max(mse, 1e-12))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", required=True, help="folder written by `billow uv synth`")
    ap.add_argument("--out", default="/tmp/uv_pipeline", help="folder for table, strip, plot")
    ap.add_argument("--frames", default=None, help="frame range (default: all)")
    ap.add_argument("--heldout", type=int, default=None,
                    help="frame shown in the picture strip (default: the middle frame)")
    ap.add_argument("--iters", type=int, default=OptimiseConfig.iters)
    ap.add_argument("--alpha1", type=float, default=OptimiseConfig.alpha1)
    ap.add_argument("--alpha2", type=float, default=OptimiseConfig.alpha2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--raw", default="iuv_raw", help="raw UV folder of the benchmark")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bench, out = Path(args.bench), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    frames, raw, raw_mask = uvio.read_uv_sequence(bench / args.raw / "frame.####.png",
                                                  args.frames)
    _, rgb, fg = uvio.read_rgb_sequence(str(bench / "rgb" / "frame.####.png"), frames)
    _, gt, gt_mask = uvio.read_uv_sequence(bench / "uv_gt" / "frame.####.png", frames)
    size = warp.default_texture_size(rgb.shape[1:3])
    print(f"{len(frames)} frames {rgb.shape[2]}x{rgb.shape[1]}, atlas {size[1]}x{size[0]}, "
          f"torch threads {args.threads}")

    opt_cfg = OptimiseConfig(iters=args.iters, alpha1=args.alpha1, alpha2=args.alpha2)
    res = preprocess(raw, raw_mask, rgb, fg, size, ExtendConfig(), opt_cfg, RelocateConfig(), 0)
    uv_e, uv_o, uv_f, mask_e = res.extended, res.optimised, res.relocated, res.mask
    info, log, rel = res.extend_info, res.optimise_log, res.relocate_info
    times = {k[:-2]: v for k, v in res.timings.items()}
    for k, v in times.items():
        print(f"{k}: {v:.1f} s ({v / len(frames):.2f} s/frame)")
    print(f"optimise loss {log[0]['loss']:.5f} -> {log[-1]['loss']:.5f} "
          f"(app {log[0]['app']:.5f} -> {log[-1]['app']:.5f})")

    stages = {"raw": (raw, raw_mask), "extended": (uv_e, mask_e), "optimised": (uv_o, mask_e),
              "relocated": (uv_f, mask_e), "ground truth": (gt, gt_mask)}
    rows, series, recons = {}, {}, {}
    for name, (uv, mask) in stages.items():
        tex = constant_texture(rgb[0], uv[0], mask[0], size)
        rec = reconstruct(tex, uv, mask)
        res = evaluate(rec, rgb, fg, uv, mask, size)
        res["mean"]["self_psnr"] = self_psnr(rgb, uv, mask, size)
        res["mean"]["uv_err"] = uv_error(uv, mask & raw_mask, gt, gt_mask, size)
        rows[name], series[name], recons[name] = res["mean"], res["frames"], rec
    truth_tex, _ = uvio.read_rgb(bench / "texture.png")
    rec = reconstruct(truth_tex, gt, gt_mask)
    res = evaluate(rec, rgb, fg, gt, gt_mask, truth_tex.shape[:2])
    res["mean"]["self_psnr"], res["mean"]["uv_err"] = float("nan"), 0.0
    rows["ground truth + texture.png"] = res["mean"]

    lines = ["| UVs | " + " | ".join(c[1] for c in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.{d}f}" for k, _, d in COLUMNS) + " |")
    table = "\n".join(lines)
    print(table)
    (out / "table.md").write_text(table + "\n")
    (out / "metrics.json").write_text(json.dumps({
        "frames": frames, "texture_size": list(size), "times_s": times, "rows": rows,
        "series": series, "optimise_log": log, "relocate_rejected": rel["rejected"],
        "extend": {k: info[k] for k in ("missing", "push", "pull")}}, indent=1))

    held = args.heldout if args.heldout is not None else frames[len(frames) // 2]
    k = frames.index(held)
    strip = [rgb[k] * fg[k][..., None]] + [recons[n][k] for n in stages]
    uvio.write_rgb(out / f"strip_{held:04d}.png", np.concatenate(strip, axis=1))
    _plot(series, out / "temporal.png", frames)
    print(f"wrote {out / 'table.md'}, {out / f'strip_{held:04d}.png'} "
          f"(real | {' | '.join(stages)}), {out / 'temporal.png'}")
    return 0


def _plot(series, path, frames):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for name, s in series.items():
        for ax, key in zip(axes, ("psnr", "tdiff", "tof")):
            x = frames if key == "psnr" else frames[1:]
            ax.plot(x, s[key], label=name)
    for ax, title in zip(axes, ("PSNR figure (dB), from T_o", "T-diff", "tOF")):
        ax.set_title(title)
        ax.set_xlabel("frame")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    raise SystemExit(main())
