"""Evaluate upres results frame by frame: the metrics of `billow.metrics` for every method
(the user's output, baselines computed on the fly from the input, the reference itself), plus
the pictures a report shows. Only two frames per method are held at a time, so 256^3
sequences fit in memory.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..config import option
from ..errors import InputError
from ..io import ReadOptions
from ..io.sequence import parse_frames
from ..baselines import make_baseline
from ..baselines.interp import upsample, upsample_velocity
from . import image as im
from .fields import input_fidelity, l1, mass_ratio, psnr
from .render import projection, render, slice_image
from .sequences import Layout, VdbSequence, read_density, read_density_velocity
from .spectrum import (Spectrum, band_energy_fraction, detail_log_ratio, radial_spectrum,
                       spectrum_error)
from .temporal import coherence, high_pass

REFERENCE = "reference"
# every summary carries these keys (nan where not available, e.g. without a reference)
SUMMARY_KEYS = ("l1", "psnr", "input_rel_l1", "mass_ratio", "spectrum_error", "detail_log_ratio",
                "detail_fraction", "residual", "residual_ratio", "flicker", "flicker_ratio",
                "detail_residual", "image_psnr", "ssim", "tof", "tdiff", "tlp",
                "seconds_per_frame")


@dataclass(frozen=True)
class EvalConfig:
    """What to measure and show."""

    advection: str = option("semi-lagrangian", "advection of the temporal residual (the "
                            "training operator billow.ops.advect)",
                            choices=("semi-lagrangian", "maccormack"))
    residual_velocity: str = option("input", "velocity of the temporal residual: the input's, "
                                    "upsampled (what training uses), or the reference's own",
                                    choices=("input", "reference"))
    window: str = option("hann", "window applied before the FFT of the spectra",
                         choices=("hann", "none"))
    axis: str = option("z", "view axis of slices, projections and renders",
                       choices=("x", "y", "z"))
    preview_frames: str | None = option(None, "frames shown as pictures (default: three spread "
                                        "over the range)")
    density_scale: float = option(6.0, "render: optical depth of a unit-density column "
                                  "across the domain")
    lpips_weights: str | None = option(None, "TorchScript LPIPS model for tLP (none can be "
                                       "downloaded; without it tLP is reported as not available)")


@dataclass
class MethodResult:
    name: str
    kind: str  # "output", "baseline", "reference"
    per_frame: dict[str, list[float]] = field(default_factory=dict)
    spectrum: Spectrum | None = None
    seconds: float = 0.0  # time spent producing (reading or computing) this method's frames
    previews: dict = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.per_frame.setdefault(key, []).append(float(value))


@dataclass
class Evaluation:
    layout: Layout
    methods: list[MethodResult]
    input_previews: dict
    frames: list
    notes: list[str]
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def _preview_frames(frames: list, spec: str | None) -> list:
    if spec:
        wanted = set(parse_frames(spec))
        chosen = [f for f in frames if f in wanted]
        if not chosen:
            raise InputError(f"--preview-frames {spec}: none of these frames is evaluated")
        return chosen
    if len(frames) <= 3:
        return list(frames)
    idx = np.linspace(0, len(frames) - 2, 3).round().astype(int)  # leave t+1 for derivatives
    return [frames[i] for i in sorted(set(idx))]


def _mean(values) -> float:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else math.nan


class _Source:
    """Produces one method's high-res frames in order."""

    def __init__(self, name, kind, seq: VdbSequence | None = None, baseline=None):
        self.name, self.kind, self.seq, self.baseline = name, kind, seq, baseline


def evaluate(inputs: VdbSequence, output: VdbSequence | None, reference: VdbSequence | None,
             baselines: list[str], lay: Layout, config: EvalConfig, options: ReadOptions,
             baseline_options: dict | None = None, progress=None) -> Evaluation:
    start = time.perf_counter()
    f = lay.factor
    notes: list[str] = []
    sources = []
    if output is not None:
        sources.append(_Source(output.label, "output", seq=output))
    for b in baselines:
        sources.append(_Source(b, "baseline", baseline=make_baseline(
            b, f, **(baseline_options or {}).get(b, {}))))
    if reference is not None:
        sources.append(_Source(REFERENCE, "reference", seq=reference))
    else:
        notes.append("No reference given: L1, PSNR, spectrum log-ratios, residual and flicker "
                     "ratios and image metrics against the reference are not available.")
    lpips = None
    if config.lpips_weights:
        lpips = im.load_lpips(config.lpips_weights)
    else:
        notes.append("tLP not available: " + im.LPIPS_HELP + ".")
    results = {s.name: MethodResult(s.name, s.kind) for s in sources}
    preview = _preview_frames(lay.frames, config.preview_frames)
    input_previews: dict = {}
    timings = {"read input": 0.0, "metrics": 0.0, "pictures": 0.0}
    prev: dict[str, torch.Tensor] = {}
    prev_img: dict[str, np.ndarray] = {}
    prev_vel = None
    hp: dict[str, torch.Tensor] = {}  # high-pass of each method's previous frame
    notes_no_vel: list[int] = []
    spectra: dict[str, Spectrum] = {}
    axis = config.axis
    ref_name = REFERENCE if reference is not None else None

    for t, frame in enumerate(lay.frames):
        t0 = time.perf_counter()
        rho_np, vel_np = read_density_velocity(inputs, t, lay.lr_lo, lay.lr_shape, options)
        x = torch.from_numpy(rho_np)
        v_lr = torch.from_numpy(vel_np) if vel_np is not None else None
        if v_lr is None and not notes_no_vel:
            notes_no_vel.append(t)
            notes.append(f"{inputs.paths[t]}: no velocity grid, so the advected residual and "
                         "the detail residual are not available from there on.")
        timings["read input"] += time.perf_counter() - t0
        frames_hr: dict[str, torch.Tensor] = {}
        for s in sources:
            t0 = time.perf_counter()
            if s.seq is not None:
                y = torch.from_numpy(read_density(s.seq, t, lay.hr_lo, lay.hr_shape, options))
            else:
                y = s.baseline.step(x, v_lr)
            results[s.name].seconds += time.perf_counter() - t0
            frames_hr[s.name] = y
        t0 = time.perf_counter()
        if config.residual_velocity == "reference" and reference is not None:
            _, vref = read_density_velocity(reference, t, lay.hr_lo, lay.hr_shape, options)
            vel_hr = torch.from_numpy(vref)
        else:
            vel_hr = upsample_velocity(v_lr, f) if v_lr is not None else None
        ref = frames_hr.get(ref_name) if ref_name else None
        imgs = {name: render(y, axis, config.density_scale) for name, y in frames_hr.items()}
        for name, y in frames_hr.items():
            r = results[name]
            if ref is not None and name != ref_name:
                r.add("l1", l1(y, ref))
                r.add("psnr", psnr(y, ref))
                r.add("image_psnr", im.psnr_image(imgs[name], imgs[ref_name]))
                r.add("ssim", im.ssim(imgs[name], imgs[ref_name]))
            r.add("input_rel_l1", input_fidelity(y, x, f))
            r.add("mass_ratio", mass_ratio(y, x, f))
            s = radial_spectrum(y, config.window)
            spectra[name] = s if name not in spectra else spectra[name] + s
            if t > 0:
                values, hp[name] = coherence(prev[name], y, prev_vel, f, config.advection,
                                             hp.get(name))
                for key, value in values.items():
                    r.add(key, value)
                r.add("tdiff", im.tdiff(prev_img[name], imgs[name],
                                        prev_img.get(ref_name) if ref is not None else None,
                                        imgs.get(ref_name) if ref is not None else None))
                if ref is not None and name != ref_name:
                    r.add("tof", im.tof(prev_img[name], imgs[name], prev_img[ref_name],
                                        imgs[ref_name]))
                    if lpips is not None:
                        r.add("tlp", im.tlp(lpips, prev_img[name], imgs[name],
                                            prev_img[ref_name], imgs[ref_name]))
            else:
                hp[name] = high_pass(y, f)
        timings["metrics"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        if frame in preview or (t > 0 and lay.frames[t - 1] in preview):
            _pictures(frame, t, lay, x, frames_hr, prev, results, input_previews, preview, axis,
                      config)
        timings["pictures"] += time.perf_counter() - t0
        prev, prev_img, prev_vel = frames_hr, imgs, vel_hr
        if progress is not None:
            progress.step(frame=frame)

    t0 = time.perf_counter()
    for name, r in results.items():
        n = len(lay.frames)
        r.spectrum = spectra[name].scaled(1.0 / n)
        r.summary = {k: _mean(v) for k, v in r.per_frame.items()}
        r.summary["detail_fraction"] = band_energy_fraction(r.spectrum, f)
        r.summary["seconds_per_frame"] = r.seconds / n
    if ref_name:
        ref_r = results[ref_name]
        for name, r in results.items():
            r.summary["detail_log_ratio"] = detail_log_ratio(r.spectrum, ref_r.spectrum, f)
            r.summary["spectrum_error"] = spectrum_error(r.spectrum, ref_r.spectrum, f)
            for key in ("residual", "flicker"):
                num, den = r.summary.get(key, math.nan), ref_r.summary.get(key, math.nan)
                r.summary[key + "_ratio"] = num / den if den and math.isfinite(den) else math.nan
    for r in results.values():
        r.summary = {k: r.summary.get(k, math.nan) for k in SUMMARY_KEYS}
    timings["metrics"] += time.perf_counter() - t0
    ev = Evaluation(lay, list(results.values()), input_previews, list(lay.frames), notes)
    ev.timings = {k: round(v, 3) for k, v in timings.items()}
    ev.seconds = time.perf_counter() - start
    return ev


def _pictures(frame, t, lay, x, frames_hr, prev, results, input_previews, preview, axis,
              config) -> None:
    """Pictures for a preview frame; the time derivative (Fig. 3.2) of the previous preview
    frame once its successor is here."""
    if frame in preview:
        up = upsample(x, lay.factor, "nearest")
        input_previews[frame] = {
            "slice": slice_image(up, axis), "max": projection(up, axis, "max"),
            "mean": projection(up, axis, "mean"),
            "render": render(x, axis, config.density_scale), "_up": up}
        for name, y in frames_hr.items():
            results[name].previews[frame] = {
                "slice": slice_image(y, axis), "max": projection(y, axis, "max"),
                "mean": projection(y, axis, "mean"),
                "render": render(y, axis, config.density_scale)}
    if t > 0 and lay.frames[t - 1] in preview:
        before = lay.frames[t - 1]
        shown = input_previews[before]
        up = upsample(x, lay.factor, "nearest")
        shown["derivative"] = slice_image(up - shown.pop("_up"), axis)
        for name, y in frames_hr.items():
            results[name].previews[before]["derivative"] = slice_image(y - prev[name], axis)
