"""Ablation of the temporal UV generator (Sec. 5.3, Table 5.1) on the synthetic benchmark, with
ground truth, and the generalisation test (train on one motion, infer on another, Fig. 5.11b).

Rows: the raw DensePose-like UVs P^r, V1 (L2 + L_s^uv), V2 (+ L_smo + L_t^uv), V3 (full L_G),
and the ground-truth UVs for reference. Columns, on held-out frames:

- the metrics of `billow.uv.evaluate` (the same as `billow uv eval` and
  benchmarks/uv_pipeline.py) of the frame reconstructed by one texture lookup W(T, w_I(P)):
  PSNR over the figure (union of the real silhouette and the UV mask: missing garment counts),
  PSNR_uv over the UV mask only (Table 5.1's "cropped to fit"), SSIM of whole frames, tOF and
  T-diff with the real frames' optical flow, T-diff_uv with the UV-derived motion of App. C.2;
- UV err: mean |P - P^gt| (Euclidean, UV units) where both have UVs; IoU of the silhouettes.

Models are evaluated at equal generator steps. P^r, V1-V3 are looked up in `--texture`
(T_o of the training targets); the ground-truth row in the benchmark's own texture.

    python benchmarks/uv_ablation.py --runs /work/data/uv_runs --bench /work/data/uvbench \
        --twist /work/data/uvbench_twist --texture /work/data/uv_pre/texture.png \
        --heldout 38-47 --out /work/data/uv_results
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from billow.io.sequence import parse_frames
from billow.uv import evaluate as uv_eval
from billow.uv import io as uvio
from billow.uv.model import UVModel

VARIANTS = ("v1", "v2", "v3")


def lookup(texture: np.ndarray, uv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One bilinear texture lookup per pixel: [T, H, W, 3] frames, black outside the mask."""
    return uv_eval.reconstruct(texture, uv, mask)


def metrics(uv, mask, rgb, fg, texture, gt_uv, gt_mask, raw_mask) -> dict:
    """`billow.uv.evaluate` of the reconstruction, PSNR_r over the raw UVs' pixels (Table 5.1's
    "cropped to fit P^r"), and the UV error and silhouette IoU against the ground truth."""
    img = lookup(texture, uv, mask)
    out = uv_eval.evaluate(img, rgb, fg, uv, mask, texture.shape[:2])["mean"]
    real = rgb * fg[..., None]
    mse = [float(np.mean((img[t] - real[t])[raw_mask[t]] ** 2)) for t in range(len(img))]
    out["psnr_r"] = float(np.mean([-10 * np.log10(max(m, 1e-10)) for m in mse]))
    both = mask & gt_mask
    err = np.linalg.norm(uv - gt_uv, axis=-1)[both]
    out.update(uv_err=float(err.mean()) if err.size else float("nan"),
               iou=float(both.sum() / max((mask | gt_mask).sum(), 1)))
    return out


def predict(model: UVModel, uv, mask):
    outs, t0 = [], time.perf_counter()
    for k in range(len(uv)):
        u, m, _ = model.predict(uv[k], mask[k])
        outs.append((u, m))
    sec = (time.perf_counter() - t0) / len(uv)
    return np.stack([o[0] for o in outs]), np.stack([o[1] for o in outs]), sec


def new_pattern(h: int, w: int) -> np.ndarray:
    """A re-texturing pattern unlike the training texture: diagonal stripes and dots."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    stripes = (np.floor((xx + yy) / 6) % 2)[..., None]
    dots = (np.hypot((xx % 12) - 6, (yy % 12) - 6) < 2.5)[..., None]
    a, b = np.array([0.95, 0.85, 0.2]), np.array([0.1, 0.3, 0.8])
    img = stripes * a + (1 - stripes) * b
    return np.where(dots, np.array([0.9, 0.1, 0.2]), img).astype(np.float32)


def evaluate(seq: Path, frames, models: dict, texture: np.ndarray, label: str, out: Path):
    fr, raw_uv, raw_m = uvio.read_uv_sequence(str(seq / "iuv_raw" / "frame.####.png"), frames)
    _, gt_uv, gt_m = uvio.read_uv_sequence(str(seq / "uv_gt" / "frame.####.png"), fr)
    _, rgb, fg = uvio.read_rgb_sequence(str(seq / "rgb" / "frame.####.png"), fr)
    gt_tex, _ = uvio.read_rgb(seq / "texture.png")
    rows, uvs = {}, {}
    rows["P^r (raw)"] = metrics(raw_uv, raw_m, rgb, fg, texture, gt_uv, gt_m, raw_m)
    uvs["P^r (raw)"] = (raw_uv, raw_m)
    for name, model in models.items():
        uv, m, sec = predict(model, raw_uv, raw_m)
        rows[name] = metrics(uv, m, rgb, fg, texture, gt_uv, gt_m, raw_m)
        rows[name]["s_per_frame"] = sec
        uvs[name] = (uv, m)
    rows["ground truth"] = metrics(gt_uv, gt_m, rgb, fg, gt_tex, gt_uv, gt_m, raw_m)
    uvs["ground truth"] = (gt_uv, gt_m)
    retexture_gif(uvs, rgb * fg[..., None], out / f"retexture_{label}.gif",
                  out / f"strip_{label}.png")
    return fr, rows


def retexture_gif(uvs: dict, ref, gif: Path, strip: Path) -> None:
    """Real frame | each row's UVs with a new pattern, side by side, as a GIF and one still."""
    from PIL import Image

    pattern = new_pattern(384, 256)
    cols = [ref] + [lookup(pattern, uv, m) for uv, m in uvs.values()]
    frames = [np.concatenate([c[t] for c in cols], axis=1) for t in range(len(ref))]
    ims = [Image.fromarray((np.clip(f, 0, 1) * 255).astype(np.uint8)) for f in frames]
    gif.parent.mkdir(parents=True, exist_ok=True)
    ims[0].save(gif, save_all=True, append_images=ims[1:], duration=83, loop=0)
    ims[len(ims) // 2].save(strip)


def table(rows: dict, title: str) -> str:
    head = (f"\n**{title}**\n\n| UVs | PSNR dB | PSNR_uv dB | PSNR_r dB | SSIM | tOF px | "
            "T-diff x1e2 | T-diff_uv x1e2 | UV err x1e2 | IoU | s/frame |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for name, r in rows.items():
        sec = f"{r['s_per_frame']:.2f}" if "s_per_frame" in r else "-"
        lines.append(f"| {name} | {r['psnr']:.2f} | {r['psnr_uv']:.2f} | {r['psnr_r']:.2f} | "
                     f"{r['ssim']:.4f} | "
                     f"{r['tof']:.3f} | {100 * r['tdiff']:.3f} | {100 * r['tdiff_uv']:.3f} | "
                     f"{100 * r['uv_err']:.3f} | {r['iou']:.3f} | {sec} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True, help="folder with v1/, v2/, v3/ training runs "
                    "(or NAME.onnx models given by --model-pattern)")
    ap.add_argument("--bench", required=True, help="training motion (billow uv synth folder)")
    ap.add_argument("--twist", default=None, help="second motion for the generalisation test")
    ap.add_argument("--texture", required=True, help="T_o the models' targets refer to")
    ap.add_argument("--heldout", default="38-47", help="held-out frames of --bench")
    ap.add_argument("--out", required=True, help="folder for the table, GIFs, pictures")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = {}
    for v in VARIANTS:
        run = Path(args.runs) / v
        if run.exists():
            models[v.upper()] = UVModel.load(run)
    texture, _ = uvio.read_rgb(args.texture)
    report, text = {}, []
    t0 = time.perf_counter()
    fr, rows = evaluate(Path(args.bench), parse_frames(args.heldout), models, texture, "sway",
                        out)
    report["heldout_frames"] = {"bench": args.bench, "frames": fr, "rows": rows}
    text.append(table(rows, f"Held-out frames {args.heldout} of {args.bench}"))
    if args.twist:
        fr, rows = evaluate(Path(args.twist), None, models, texture, "twist", out)
        report["generalisation"] = {"bench": args.twist, "frames": fr, "rows": rows}
        text.append(table(rows, f"Generalisation: trained on {Path(args.bench).name}, "
                                f"inferred on {args.twist}"))
    report["seconds"] = time.perf_counter() - t0
    for v in VARIANTS:
        ckpt = Path(args.runs) / v / "checkpoint.pt"
        if ckpt.exists():
            c = torch.load(ckpt, map_location="cpu", weights_only=True)
            report.setdefault("training", {})[v] = {
                "generator_steps": c["step_g"], "d_img_steps": c["step_d_img"],
                "wall_time_s": round(c["wall_time"], 1), "hardware": c["hardware"],
                "data": c["data"]}
    (out / "ablation.json").write_text(json.dumps(report, indent=1) + "\n")
    # the card of a shipped variant: its rows beside the raw and ground-truth references
    for v in VARIANTS:
        if v.upper() not in models:
            continue
        card = {"command": "python benchmarks/uv_ablation.py " + " ".join(
                    f"--{k.replace('_', '-')} {val}" for k, val in vars(args).items() if val),
                "metrics": "billow.uv.evaluate (PSNR over the figure, PSNR_uv over the UV "
                           "mask, SSIM, tOF, T-diff with the real flow, T-diff_uv App. C.2) "
                           "+ UV error (UV units) and silhouette IoU against ground truth"}
        for key in ("heldout_frames", "generalisation"):
            if key in report:
                rows = report[key]["rows"]
                card[key] = {"bench": report[key]["bench"], "frames": report[key]["frames"],
                             **{name: rows[name] for name in
                                ("P^r (raw)", v.upper(), "ground truth")}}
        (out / f"card_eval_{v}.json").write_text(json.dumps(card, indent=1) + "\n")
    (out / "ablation.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    print(f"\nwritten: {out}/ablation.json, ablation.md, retexture_*.gif, strip_*.png")


if __name__ == "__main__":
    main()
