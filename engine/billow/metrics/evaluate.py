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
from ..baselines.interp import upsample
from ..ops import upsample_velocity
from . import image as im
from .fields import downsample_like_training
from .render import projection, render, slice_image
from .sequences import Layout, VdbSequence, read_density, read_density_velocity
from .spectrum import (Spectrum, band_energy_fraction, detail_log_ratio, radial_spectrum,
                       spectrum_error)
from .temporal import advect_frame, high_pass

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
             baseline_options: dict | None = None, progress=None,
             windows: list[tuple[np.ndarray, tuple[int, ...]]] | None = None) -> Evaluation:
    """Every metric of every method over the frames of `lay`. `windows` (low-res lo, shape;
    `sequences.eval_regions`) evaluates a sparse sequence region by region: only the regions
    are read, and the metrics combine over them (`_combine`, docs/guarantees.md)."""
    start = time.perf_counter()
    f = lay.factor
    notes: list[str] = []
    regions = windows is not None
    if regions and "wavelet" in baselines:
        raise InputError(f"--baselines wavelet: this sparse sequence is evaluated region by "
                         f"region ({len(windows)} regions of a {' x '.join(map(str, lay.hr_shape))}"
                         " high-res block), but wavelet turbulence keeps its state on one block "
                         "across frames; leave wavelet out of --baselines")
    windows = windows if regions else [(lay.lr_lo, tuple(lay.lr_shape))]
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
    # pictures show one window: the whole block, or the largest region
    shown = int(np.argmax([np.prod(shape) for _, shape in windows]))
    if regions:
        notes.append(f"Sparse sequence: {len(windows)} occupied region(s) evaluated one by one. "
                     "Voxel metrics are over the whole block; spectra are the volume-weighted "
                     "mean of the regions' spectra, image metrics the pixel-weighted mean over "
                     "the regions' renders; pictures show the largest region.")
    results = {s.name: MethodResult(s.name, s.kind) for s in sources}
    preview = _preview_frames(lay.frames, config.preview_frames)
    input_previews: dict = {}
    timings = {"read input": 0.0, "metrics": 0.0, "pictures": 0.0}
    # per window: the previous frame of each method, its render, the velocity, its high-pass
    state: list[dict] = [{"prev": {}, "img": {}, "vel": None, "hp": {}} for _ in windows]
    notes_no_vel: list[int] = []
    spectra: dict[str, Spectrum] = {}
    axis = config.axis
    ref_name = REFERENCE if reference is not None else None
    n_block = float(np.prod(np.array(lay.hr_shape, dtype=float)))
    bands = _common_bands(windows, f)

    for t, frame in enumerate(lay.frames):
        sums = {name: {} for name in results}
        for w, (lo, shape) in enumerate(windows):
            hr_lo, hr_shape = np.asarray(lo) * f, tuple(n * f for n in shape)
            t0 = time.perf_counter()
            rho_np, vel_np = read_density_velocity(inputs, t, lo, shape, options,
                                                   window=regions)
            x = torch.from_numpy(rho_np)
            v_lr = torch.from_numpy(vel_np) if vel_np is not None else None
            if v_lr is None and not notes_no_vel:
                notes_no_vel.append(t)
                notes.append(f"{inputs.paths[t]}: no velocity grid, so the advected residual "
                             "and the detail residual are not available from there on.")
            timings["read input"] += time.perf_counter() - t0
            frames_hr: dict[str, torch.Tensor] = {}
            for s in sources:
                t0 = time.perf_counter()
                if s.seq is not None:
                    y = torch.from_numpy(read_density(s.seq, t, hr_lo, hr_shape, options,
                                                      window=regions))
                else:
                    y = s.baseline.step(x, v_lr)
                results[s.name].seconds += time.perf_counter() - t0
                frames_hr[s.name] = y
            t0 = time.perf_counter()
            if config.residual_velocity == "reference" and reference is not None:
                _, vref = read_density_velocity(reference, t, hr_lo, hr_shape, options,
                                                window=regions)
                vel_hr = torch.from_numpy(vref)
            else:
                vel_hr = upsample_velocity(v_lr, f) if v_lr is not None else None
            st = state[w]
            ref = frames_hr.get(ref_name) if ref_name else None
            imgs = {name: render(y, axis, config.density_scale) for name, y in frames_hr.items()}
            for name, y in frames_hr.items():
                acc = sums[name]
                img_ref = imgs[ref_name] if ref is not None else None
                pixels = float(imgs[name].shape[0] * imgs[name].shape[1])
                if ref is not None and name != ref_name:
                    _add(acc, l1=float((y - ref).abs().double().sum()),
                         sq=float((y - ref).double().pow(2).sum()))
                    acc["peak"] = max(acc.get("peak", -math.inf), float(ref.max()))
                    _add(acc, pixels=pixels,
                         image_psnr=pixels * im.psnr_image(imgs[name], img_ref),
                         ssim=pixels * im.ssim(imgs[name], img_ref))
                down = downsample_like_training(y, f)
                _add(acc, in_num=float((down - x).abs().double().sum()),
                     in_den=float(x.abs().double().sum()), y_sum=float(y.double().sum()),
                     x_sum=float(x.double().sum()))
                spec = _rebinned(radial_spectrum(y, config.window), bands)
                spec = spec.scaled(float(y.numel()) / _window_voxels(windows, f))
                spectra[name] = spec if name not in spectra else spectra[name] + spec
                if t > 0:
                    values, st["hp"][name] = _coherence_sums(
                        st["prev"][name], y, st["vel"], f, config.advection, st["hp"].get(name))
                    _add(acc, **values)
                    prev_ref = st["img"].get(ref_name) if ref is not None else None
                    _add(acc, tpixels=pixels, tdiff=pixels * im.tdiff(
                        st["img"][name], imgs[name], prev_ref, img_ref))
                    if ref is not None and name != ref_name:
                        _add(acc, tof=pixels * im.tof(st["img"][name], imgs[name], prev_ref,
                                                      img_ref))
                        if lpips is not None:
                            _add(acc, tlp=pixels * im.tlp(lpips, st["img"][name], imgs[name],
                                                          prev_ref, img_ref))
                else:
                    st["hp"][name] = high_pass(y, f)
            timings["metrics"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            if w == shown and (frame in preview or (t > 0 and lay.frames[t - 1] in preview)):
                sub = Layout(f, np.asarray(lo), tuple(shape), lay.lr_matrix, lay.frames)
                _pictures(frame, t, sub, x, frames_hr, st["prev"], results, input_previews,
                          preview, axis, config)
            timings["pictures"] += time.perf_counter() - t0
            st["prev"], st["img"], st["vel"] = frames_hr, imgs, vel_hr
        for name, acc in sums.items():
            for key, value in _combine(acc, n_block, f, t > 0, ref_name is not None
                                       and name != ref_name, lpips is not None).items():
                results[name].add(key, value)
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


def _add(acc: dict, **values: float) -> None:
    for key, value in values.items():
        acc[key] = acc.get(key, 0.0) + value


def _window_voxels(windows, f: int) -> float:
    return float(sum(np.prod(np.array(shape, float)) for _, shape in windows)) * f ** 3


def _common_bands(windows, f: int) -> np.ndarray | None:
    """Band centres all windows' spectra are put on: the largest window's (None for one)."""
    if len(windows) == 1:
        return None
    big = max(windows, key=lambda w: np.prod(w[1]))
    return radial_spectrum(torch.zeros(tuple(n * f for n in big[1])), "none").k


def _rebinned(spectrum: Spectrum, bands: np.ndarray | None) -> Spectrum:
    """A region's spectrum on the common bands (linear in k; one window: unchanged)."""
    if bands is None:
        return spectrum
    return Spectrum(bands.copy(), np.interp(bands, spectrum.k, spectrum.power))


def _coherence_sums(previous, current, velocity, f: int, order: str, hp_previous
                    ) -> tuple[dict, torch.Tensor]:
    """The sums behind `temporal.coherence` for one window, and high_pass(current): the
    ratios are taken once every window of the frame pair is in (`_combine`)."""
    hp_prev = high_pass(previous, f) if hp_previous is None else hp_previous
    hp_cur = high_pass(current, f)
    out = {"norm": float(current.abs().double().sum()),
           "detail": float(hp_cur.double().pow(2).sum()),
           "flick": float((hp_cur - hp_prev).double().pow(2).sum())}
    if velocity is not None:
        moved = advect_frame(previous, velocity, order)
        out["res"] = float((current - moved).abs().double().sum())
        out["dres"] = float((hp_cur - high_pass(moved, f)).double().pow(2).sum())
        out["with_velocity"] = 1.0
    return out, hp_cur


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _combine(acc: dict, n_block: float, f: int, pair: bool, against_ref: bool,
             with_lpips: bool) -> dict[str, float]:
    """One frame's metrics from the sums over its windows. Voxel metrics are those of the
    whole block (voxels outside every region are zero in every method, so they add nothing to
    a sum and count in the means' n_block); image metrics are pixel-weighted means."""
    out: dict[str, float] = {}
    if against_ref:
        out["l1"] = acc["l1"] / n_block
        mse = acc["sq"] / n_block
        out["psnr"] = (math.inf if mse == 0.0 else
                       10.0 * math.log10(max(acc["peak"], 1e-12) ** 2 / mse))
        out["image_psnr"] = acc["image_psnr"] / acc["pixels"]
        out["ssim"] = acc["ssim"] / acc["pixels"]
    out["input_rel_l1"] = _ratio(acc["in_num"], acc["in_den"])
    denom = acc["x_sum"] * f ** 3
    out["mass_ratio"] = acc["y_sum"] / denom if denom != 0 else math.nan
    if pair:
        detail = math.sqrt(acc["detail"])
        has_vel = acc.get("with_velocity", 0.0) > 0
        out["residual"] = _ratio(acc["res"], acc["norm"]) if has_vel else math.nan
        out["flicker"] = math.sqrt(acc["flick"]) / detail if detail > 0 else math.nan
        out["detail_residual"] = (math.sqrt(acc["dres"]) / detail if has_vel and detail > 0
                                  else math.nan)
        out["tdiff"] = acc["tdiff"] / acc["tpixels"]
        if against_ref:
            out["tof"] = acc["tof"] / acc["tpixels"]
            if with_lpips:
                out["tlp"] = acc["tlp"] / acc["tpixels"]
    return out


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
