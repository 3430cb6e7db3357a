"""A self-contained HTML report of an `Evaluation` (pictures embedded as PNG data URIs), plus
`metrics.json` (every number, per frame) and `metrics.md` (the table, for pasting)."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..io.atomic import atomic_path
from .evaluate import REFERENCE, Evaluation
from ..metrics.render import signed_rgb
from ..metrics.spectrum import log_ratio

# column key, header, format, help
COLUMNS = [
    ("l1", "L1", "{:.4g}", "mean |y - ref| per voxel"),
    ("psnr", "PSNR dB", "{:.2f}", "10 log10(max(ref)^2 / MSE), per frame, averaged"),
    ("input_rel_l1", "input rel. L1", "{:.4f}",
     "|D(y) - x|_1 / |x|_1, D = the training data's downsampling filter"),
    ("mass_ratio", "mass ratio", "{:.4f}", "sum(y) / (f^3 sum(x)); 1 = mass kept"),
    ("spectrum_error", "spectrum error", "{:.3f}",
     "mean |log10(P_y / P_ref)| over spectrum bands above the input's Nyquist; 0 = the "
     "reference's fine-detail spectrum"),
    ("detail_log_ratio", "detail log10", "{:+.3f}",
     "mean log10(P_y / P_ref) over spectrum bands above the input's Nyquist; 0 = as detailed "
     "as the reference"),
    ("detail_fraction", "detail share", "{:.4f}",
     "share of the band-averaged spectrum above the input's Nyquist (no reference needed)"),
    ("residual", "adv. residual", "{:.4f}",
     "|y_t - A(y_t-1, v_t-1)|_1 / |y_t|_1, A = billow.ops.advect"),
    ("residual_ratio", "residual / ref", "{:.3f}", "advected residual over the reference's"),
    ("flicker", "flicker", "{:.4f}",
     "RMS(hp(y_t - y_t-1)) / RMS(hp(y_t)), hp = detail finer than the input: share of the "
     "fine detail that changes per frame"),
    ("flicker_ratio", "flicker / ref", "{:.3f}", "flicker over the reference's"),
    ("detail_residual", "detail residual", "{:.4f}",
     "RMS(hp(y_t - A(y_t-1, v))) / RMS(hp(y_t)): share of the fine detail that transport "
     "does not explain (0 carried by the flow, ~1.4 re-invented every frame)"),
    ("image_psnr", "render PSNR", "{:.2f}", "PSNR of the preview render vs the reference's"),
    ("ssim", "render SSIM", "{:.4f}", "SSIM of the preview render vs the reference's"),
    ("tof", "tOF", "{:.4f}", "|OF(g_t-1, g_t) - OF(b_t-1, b_t)|_1 per pixel (Farneback), renders"),
    ("tdiff", "T-diff", "{:.4f}",
     "|g_t - W(g_t-1)| per pixel, warped with the reference render's flow"),
    ("tlp", "tLP", "{:.4f}", "|LPIPS(g_t-1, g_t) - LPIPS(b_t-1, b_t)| (needs --lpips-weights)"),
    ("seconds_per_frame", "s/frame", "{:.3f}", "time to read or compute one frame"),
]
NA = "n/a"


def _fmt(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NA
    return fmt.format(value)


def table_rows(ev: Evaluation) -> tuple[list[str], list[list[str]]]:
    header = ["method"] + [c[1] for c in COLUMNS]
    rows = []
    for r in ev.methods:
        rows.append([r.name] + [_fmt(r.summary.get(k, math.nan), fmt) for k, _, fmt, _ in COLUMNS])
    return header, rows


def markdown_table(ev: Evaluation) -> str:
    header, rows = table_rows(ev)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", pil_kwargs={"compress_level": 1})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (reports run without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def spectrum_figure(ev: Evaluation) -> str:
    plt = pyplot()
    has_ref = any(r.name == REFERENCE for r in ev.methods)
    fig, axes = plt.subplots(1, 2 if has_ref else 1, figsize=(11 if has_ref else 6, 4),
                             squeeze=False)
    ax = axes[0, 0]
    ref = next((r for r in ev.methods if r.name == REFERENCE), None)
    for r in ev.methods:
        k, p = r.spectrum.k[1:], r.spectrum.power[1:]
        ax.loglog(k, np.maximum(p, 1e-30), label=r.name,
                  lw=2.5 if r.name == REFERENCE else 1.5, color="k" if r is ref else None)
        if ref is not None and r is not ref:
            axes[0, 1].semilogx(k, log_ratio(r.spectrum, ref.spectrum)[1:], label=r.name)
    nyq = 0.5 / ev.layout.factor
    from matplotlib.ticker import NullFormatter

    for a in axes[0]:
        a.xaxis.set_minor_formatter(NullFormatter())
        a.axvline(nyq, ls="--", color="grey", lw=1)
        a.set_xlabel("wavenumber (cycles per output voxel)")
        a.legend(fontsize=8)
        a.grid(alpha=0.3, which="both")
    ax.set_ylabel("mean power per band")
    ax.set_title("radially averaged density spectrum (dashed: input Nyquist)")
    if ref is not None:
        axes[0, 1].axhline(0, color="k", lw=1)
        axes[0, 1].set_ylabel("log10(P / P_reference)")
        axes[0, 1].set_title("spectrum log-ratio to the reference")
    return _png(fig)


def temporal_figure(ev: Evaluation) -> str:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    frames = [f if f is not None else i for i, f in enumerate(ev.frames)][1:]
    for r in ev.methods:
        style = dict(lw=2.5, color="k") if r.name == REFERENCE else dict(lw=1.5)
        for ax, key in zip(axes, ("residual", "detail_residual")):
            if r.per_frame.get(key):
                ax.plot(frames, r.per_frame[key], label=r.name, **style)
    axes[0].set_title("advected-frame residual |y_t - A(y_t-1, v)|_1 / |y_t|_1")
    axes[1].set_title("detail residual: RMS hp(y_t - A(y_t-1, v)) / RMS hp(y_t)")
    for ax in axes:
        ax.set_xlabel("frame")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _png(fig)


def _data_uri_png(rgb: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="png", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# at least this many pixels per panel side: small volumes are zoomed (nearest) to be looked at
MIN_PANEL = 256


def pictures_figure(ev: Evaluation, frame) -> str:
    """Rows: render, slice, max and mean projection, time derivative; columns: methods.

    Composed directly (no plotting library): every panel shows the volume at one pixel per
    output voxel or more (integer zoom up to `MIN_PANEL` pixels), so fine detail and tiling
    artefacts stay visible, and the sheet costs milliseconds instead of seconds."""
    from matplotlib import colormaps
    from PIL import Image, ImageDraw

    cols = [("input (nearest)", ev.input_previews.get(frame, {}))]
    cols += [(r.name, r.previews.get(frame, {})) for r in ev.methods]
    rows = [("render", "render"), ("slice", "slice"), ("max", "max projection"),
            ("mean", "mean projection"), ("derivative", "y(t+1) - y(t), slice")]
    rows = [(k, label) for k, label in rows if any(k in c for _, c in cols)]
    vmax = {k: max((float(np.percentile(c[k], 99.9)) for _, c in cols if k in c), default=1.0)
            for k, _ in rows}
    ref_d = next((c["derivative"] for n, c in cols if n == REFERENCE and "derivative" in c), None)
    dscale = float(np.percentile(np.abs(ref_d), 99.5)) if ref_d is not None else None
    inferno = (colormaps["inferno"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    shape = max((np.shape(c[k])[:2] for _, c in cols for k, _ in rows if k in c),
                default=(64, 64))
    zoom = max(1, -(-MIN_PANEL // max(shape)))
    ph, pw = shape[0] * zoom, shape[1] * zoom
    head, side, gap = 22, 110, 4
    sheet = np.full((head + len(rows) * (ph + gap), side + len(cols) * (pw + gap), 3), 255,
                    np.uint8)
    for j, (name, c) in enumerate(cols):
        for i, (key, _) in enumerate(rows):
            y0, x0 = head + i * (ph + gap), side + j * (pw + gap)
            if key not in c:
                sheet[y0:y0 + ph, x0:x0 + pw] = 221
                continue
            a = np.asarray(c[key], np.float32)
            if key == "render":
                rgb = (np.clip(a, 0, 1) * 255).astype(np.uint8)
            elif key == "derivative":
                rgb = (signed_rgb(a, dscale) * 255).astype(np.uint8)
            else:
                idx = np.clip(a / max(vmax[key], 1e-12), 0, 1) * 255
                rgb = inferno[idx.astype(np.uint8)]
            z = max(1, min(ph // rgb.shape[0], pw // rgb.shape[1]))  # low-res panels too
            if z > 1:
                rgb = rgb.repeat(z, 0).repeat(z, 1)
            sheet[y0:y0 + rgb.shape[0], x0:x0 + rgb.shape[1]] = rgb[:ph, :pw]
    pil = Image.fromarray(sheet)
    draw = ImageDraw.Draw(pil)
    draw.text((6, 5), f"frame {frame}", fill=(0, 0, 0))
    for j, (name, _) in enumerate(cols):
        draw.text((side + j * (pw + gap) + 4, 5), name, fill=(0, 0, 0))
    for i, (_, label) in enumerate(rows):
        draw.text((6, head + i * (ph + gap) + ph // 2 - 6), label, fill=(0, 0, 0))
    return _data_uri_png(np.asarray(pil))


def to_json(ev: Evaluation, extra: dict) -> dict:
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, np.ndarray):
            return clean(v.tolist())
        return v

    lay = ev.layout
    return clean({
        **extra,
        "factor": lay.factor, "frames": ev.frames,
        "low_res_block": {"lo": lay.lr_lo.tolist(), "shape": list(lay.lr_shape)},
        "high_res_block": {"lo": lay.hr_lo.tolist(), "shape": list(lay.hr_shape)},
        "seconds": round(ev.seconds, 3), "timings": ev.timings, "notes": ev.notes,
        "columns": {k: h for k, _, _, h in COLUMNS},
        "methods": {r.name: {"kind": r.kind, "summary": r.summary, "per_frame": r.per_frame,
                             "spectrum": {"k": r.spectrum.k, "power": r.spectrum.power}}
                    for r in ev.methods},
    })


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;
text-align:right}th{background:#f3f3f3}td:first-child{text-align:left;font-weight:600}
img{max-width:100%}code{background:#f3f3f3;padding:1px 4px}dt{font-weight:600}
.small{font-size:12px;color:#555}"""


def write_report(ev: Evaluation, folder: str | Path, title: str, extra: dict) -> Path:
    """Write index.html, metrics.json and metrics.md into `folder`; returns the HTML path."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{folder}: cannot create the report folder ({e.strerror})") from e
    data = to_json(ev, extra)
    table = markdown_table(ev)
    header, rows = table_rows(ev)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    lay = ev.layout
    info = [("command", extra.get("command", "")), ("factor", f"{lay.factor}x"),
            ("frames", f"{len(ev.frames)} ({ev.frames[0]} .. {ev.frames[-1]})"),
            ("low-res block", f"{list(lay.lr_shape)} at index {lay.lr_lo.tolist()}"),
            ("high-res block", f"{list(lay.hr_shape)} at index {lay.hr_lo.tolist()}"),
            ("evaluation time", f"{ev.seconds:.1f} s (" + ", ".join(
                f"{k} {v:.1f} s" for k, v in ev.timings.items()) + ")")]
    parts.append("<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd><code>{html.escape(str(v))}"
                                  "</code></dd>" for k, v in info) + "</dl>")
    for note in ev.notes:
        parts.append(f"<p class='small'>{html.escape(note)}</p>")
    parts.append("<h2>Metrics</h2><table><tr>" + "".join(
        f"<th title='{html.escape(h)}'>{html.escape(c)}</th>"
        for c, h in zip(header, ["method"] + [c[3] for c in COLUMNS])) + "</tr>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>")
    parts.append("</table><dl class='small'>" + "".join(
        f"<dt>{html.escape(h)}</dt><dd>{html.escape(d)}</dd>" for _, h, _, d in COLUMNS)
        + "</dl>")
    parts.append(f"<h2>Detail: energy spectrum</h2><img src='{spectrum_figure(ev)}'>")
    if len(ev.frames) > 1:
        parts.append(f"<h2>Temporal coherence</h2><img src='{temporal_figure(ev)}'>")
    parts.append("<h2>Pictures</h2><p class='small'>Slices through the middle, max and mean "
                 "projections and emission/absorption renders along the view axis; the last "
                 "row is the finite difference between frames t and t+1 on the slice, red "
                 "positive, blue negative, scaled like the reference's (dissertation Fig. 3.2: "
                 "coherent results show narrow, structured derivatives, incoherent ones jagged "
                 "noise).</p>")
    frames_shown = sorted({f for r in ev.methods for f in r.previews}, key=lambda v: (v is None, v))
    for frame in frames_shown:
        parts.append(f"<img src='{pictures_figure(ev, frame)}'>")
    parts.append("</body></html>")
    try:
        with atomic_path(folder / "metrics.json") as tmp:
            tmp.write_text(json.dumps(data, indent=1))
        with atomic_path(folder / "metrics.md") as tmp:
            tmp.write_text(table)
        with atomic_path(folder / "index.html") as tmp:
            tmp.write_text("\n".join(parts))
    except OSError as e:
        raise OutputError(f"{folder}: cannot write the report ({e.strerror})") from e
    return folder / "index.html"
