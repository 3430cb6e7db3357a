"""Held-out evaluation of generators straight from paired data (`billow dataset` folders).

`billow eval` measures VDB sequences as users have them; experiments (ablations, training
curves) need the same metrics on many models quickly, without a VDB round trip. This module runs
each model on whole held-out frames and feeds them to the accumulator `billow eval` uses
(`billow.evaluation.MetricAccumulator`: temporal residual with the upsampled input velocity,
spectra averaged over frames, ratios against the reference's own values), so both report the
same metrics computed the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..evaluation.accumulator import MetricAccumulator
from ..ops import upsample_velocity
from .data import PairedData

REFERENCE = "reference"
# the columns of `table`, in order: key, header, format
COLUMNS = (("l1", "L1", "{:.5f}"), ("psnr", "PSNR", "{:.2f}"),
           ("mass_ratio", "mass ratio", "{:.3f}"), ("density_ratio", "mean density / ref", "{:.3f}"),
           ("spectrum_error", "spectrum error", "{:.3f}"),
           ("detail_log_ratio", "detail log10", "{:+.3f}"),
           ("residual_ratio", "residual / ref", "{:.3f}"), ("flicker_ratio", "flicker / ref", "{:.3f}"),
           ("detail_residual", "detail residual", "{:.3f}"))

Method = Callable[[torch.Tensor], torch.Tensor]  # (T, C, *s) low-res -> (T, *S) high-res


def generator_method(g: torch.nn.Module, batch: int = 4) -> Method:
    """A generator as a method: whole frames, `batch` at a time, in inference mode."""
    g = g.eval()
    cfg = getattr(g, "cfg", None)
    if cfg is not None and cfg.normalise == "frame":
        from ..ops.normalise import frame_scales

        @torch.no_grad()
        def run_normalised(x: torch.Tensor) -> torch.Tensor:
            out = []
            for frame in x:  # whole frames: each one's own scales, as `billow upres`
                s_d, s_v = frame_scales(frame[0].numpy(),
                                        np.moveaxis(frame[1:].numpy(), 0, -1))
                y = g(torch.cat([frame[:1] / s_d, frame[1:] / s_v])[None])[0, 0]
                out.append(y * s_d)
            return torch.stack(out)

        return run_normalised

    @torch.no_grad()
    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([g(x[i:i + batch])[:, 0] for i in range(0, len(x), batch)])

    return run


def baseline_method(name: str, factor: int) -> Method:
    """A `billow baseline` method (nearest ... wavelet), reset per sequence, frame by frame."""
    from ..baselines import make_baseline

    b = make_baseline(name, factor)

    def run(x: torch.Tensor) -> torch.Tensor:
        b.reset()
        return torch.stack([b.step(x[t, 0], x[t, 1:]) for t in range(len(x))])

    return run


def _frames(sim: dict, frames: slice, dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rho = torch.from_numpy(np.asarray(sim["lr_density"][frames], np.float32))
    vel = torch.from_numpy(np.asarray(sim["lr_velocity"][frames], np.float32))
    hr = torch.from_numpy(np.asarray(sim["hr_density"][frames], np.float32))
    return torch.cat([rho.unsqueeze(1), vel], dim=1), hr, vel


def evaluate(methods: dict[str, Method], data_dir: str | Path, sims: list[str] | None = None,
             frames: slice = slice(None), keep: tuple[str, int] | None = None) -> dict:
    """Metrics of each method (and the reference) over the held-out simulations.

    Returns {"summary": {method: {metric: value}}, "kept": {method: (y_t, y_t+1)}}; `keep` =
    (sim id, frame index within `frames`) names a frame pair kept for pictures (Fig. 3.2)."""
    data = PairedData(data_dir)
    f = data.factor
    sims = sorted(data.sims) if sims is None else sims
    names = [*methods, REFERENCE]
    acc = MetricAccumulator(names, f, REFERENCE, mean_density=True)
    kept: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for sid in sims:
        x, ref, v_lr = _frames(data.load(sid), frames, data.dim)
        outs = {name: m(x) for name, m in methods.items()}
        outs[REFERENCE] = ref
        acc.start_sequence()  # no temporal metrics across simulations
        for t in range(len(ref)):
            acc.add(x[t, 0], {name: y[t] for name, y in outs.items()},
                    upsample_velocity(v_lr[t], f))
            acc.end_frame(float(ref[t].numel()))
        if keep is not None and keep[0] == sid:
            kept = {name: (y[keep[1]].clone(), y[keep[1] + 1].clone())
                    for name, y in outs.items()}
    summary = acc.summary()
    for s in summary.values():
        s["density_ratio"] = s["mean_density"] / summary[REFERENCE]["mean_density"]
    return {"summary": summary, "kept": kept}


def table(summary: dict[str, dict[str, float]]) -> str:
    """A markdown table of `summary` (methods as rows)."""
    head = "| method | " + " | ".join(h for _, h, _ in COLUMNS) + " |"
    rows = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, s in summary.items():
        cells = [fmt.format(s[k]) if k in s and math.isfinite(s[k]) else "-"
                 for k, _, fmt in COLUMNS]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def derivative_figure(kept: dict[str, tuple[torch.Tensor, torch.Tensor]], path: str | Path,
                      title: str = "") -> Path:
    """Fig. 3.2: each method's frame (top) and its time derivative y^{t+1} - y^t (bottom), the
    derivative on one colour scale for all methods so their noise is comparable."""
    from ..evaluation.report import pyplot
    from ..metrics.render import signed_rgb

    plt = pyplot()
    names = list(kept)
    scale = max(float((b - a).abs().max()) for a, b in kept.values()) or 1.0
    fig, axes = plt.subplots(2, len(names), figsize=(2.6 * len(names), 5.4), squeeze=False)
    for j, name in enumerate(names):
        a, b = kept[name]
        # [x, y] arrays: transpose and flip so y points up on the page
        axes[0, j].imshow(a.T.flip(0).numpy(), cmap="gray", vmin=0, vmax=1)
        axes[1, j].imshow(np.flipud(signed_rgb((b - a).T.numpy(), scale)))
        axes[0, j].set_title(name, fontsize=9)
        for ax in axes[:, j]:
            ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].set_ylabel("density")
    axes[1, 0].set_ylabel("d/dt")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
