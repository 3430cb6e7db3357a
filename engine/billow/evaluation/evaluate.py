"""`billow eval`: evaluate upres results frame by frame with the metrics of `billow.metrics`
for every method (the user's output, baselines computed on the fly from the input, the
reference itself), plus the pictures a report shows. Only two frames per method are held at a
time, so 256^3 sequences fit in memory. The metrics are summed and combined by the one
`MetricAccumulator` (shared with the held-out benchmarks).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..baselines import make_baseline
from ..baselines.interp import upsample
from ..ops import upsample_velocity
from ..config import option
from ..errors import InputError
from ..io import ReadOptions
from ..io.sequence import parse_frames
from ..metrics import image as im
from ..metrics.render import projection, render, slice_image
from ..metrics.spectrum import Spectrum
from .accumulator import MetricAccumulator, common_bands
from .sequences import Layout, VdbSequence, read_density, read_density_velocity

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


class _Source:
    """Produces one method's high-res frames in order."""

    def __init__(self, name, kind, seq: VdbSequence | None = None, baseline=None):
        self.name, self.kind, self.seq, self.baseline = name, kind, seq, baseline


def _sources(output, reference, baselines: list[str], factor: int,
             baseline_options: dict | None) -> list[_Source]:
    """The methods in report order: the output, the baselines, the reference."""
    sources = []
    if output is not None:
        sources.append(_Source(output.label, "output", seq=output))
    for b in baselines:
        sources.append(_Source(b, "baseline", baseline=make_baseline(
            b, factor, **(baseline_options or {}).get(b, {}))))
    if reference is not None:
        sources.append(_Source(REFERENCE, "reference", seq=reference))
    return sources


def _refuse_stateful_baselines(baselines: list[str], windows, lay: Layout) -> None:
    if "wavelet" in baselines:
        raise InputError(f"--baselines wavelet: this sparse sequence is evaluated region by "
                         f"region ({len(windows)} regions of a {' x '.join(map(str, lay.hr_shape))}"
                         " high-res block), but wavelet turbulence keeps its state on one block "
                         "across frames; leave wavelet out of --baselines")


def _notes(has_reference: bool, has_lpips: bool, regions: int) -> list[str]:
    """What the report says is not measured, and how a sparse sequence is measured."""
    notes = []
    if not has_reference:
        notes.append("No reference given: L1, PSNR, spectrum log-ratios, residual and flicker "
                     "ratios and image metrics against the reference are not available.")
    if not has_lpips:
        notes.append("tLP not available: " + im.LPIPS_HELP + ".")
    if regions:
        notes.append(f"Sparse sequence: {regions} occupied region(s) evaluated one by one. "
                     "Voxel metrics are over the whole block; spectra are the volume-weighted "
                     "mean of the regions' spectra, image metrics the pixel-weighted mean over "
                     "the regions' renders; pictures show the largest region.")
    return notes


def _window_voxels(windows, f: int) -> float:
    return float(sum(np.prod(np.array(shape, float)) for _, shape in windows)) * f ** 3


class _Run:
    """One evaluation in progress: reads each window of each frame, produces every method's
    frames, feeds the accumulator and keeps the pictures and timings."""

    def __init__(self, inputs: VdbSequence, reference: VdbSequence | None, sources, lay: Layout,
                 config: EvalConfig, options: ReadOptions, regions: bool,
                 acc: MetricAccumulator, notes: list[str]):
        self.inputs, self.reference, self.sources = inputs, reference, sources
        self.lay, self.config, self.options, self.regions = lay, config, options, regions
        self.acc, self.notes = acc, notes
        self.results = {s.name: MethodResult(s.name, s.kind) for s in sources}
        self.preview = _preview_frames(lay.frames, config.preview_frames)
        self.input_previews: dict = {}
        self.timings = {"read input": 0.0, "metrics": 0.0, "pictures": 0.0}
        self.missing_velocity = False

    def _read_input(self, t: int, lo, shape):
        t0 = time.perf_counter()
        rho_np, vel_np = read_density_velocity(self.inputs, t, lo, shape, self.options,
                                               window=self.regions)
        x = torch.from_numpy(rho_np)
        v_lr = torch.from_numpy(vel_np) if vel_np is not None else None
        if v_lr is None and not self.missing_velocity:
            self.missing_velocity = True
            self.notes.append(f"{self.inputs.paths[t]}: no velocity grid, so the advected "
                              "residual and the detail residual are not available from there "
                              "on.")
        self.timings["read input"] += time.perf_counter() - t0
        return x, v_lr

    def _produce(self, t: int, hr_lo, hr_shape, x, v_lr) -> dict[str, torch.Tensor]:
        """Every method's high-res frame: read, or computed by a baseline (timed per method)."""
        frames_hr: dict[str, torch.Tensor] = {}
        for s in self.sources:
            t0 = time.perf_counter()
            if s.seq is not None:
                y = torch.from_numpy(read_density(s.seq, t, hr_lo, hr_shape, self.options,
                                                  window=self.regions))
            else:
                y = s.baseline.step(x, v_lr)
            self.results[s.name].seconds += time.perf_counter() - t0
            frames_hr[s.name] = y
        return frames_hr

    def _velocity(self, t: int, hr_lo, hr_shape, v_lr):
        """The high-res velocity of the temporal residual (--residual-velocity)."""
        if self.config.residual_velocity == "reference" and self.reference is not None:
            _, vref = read_density_velocity(self.reference, t, hr_lo, hr_shape, self.options,
                                            window=self.regions)
            return torch.from_numpy(vref)
        return upsample_velocity(v_lr, self.lay.factor) if v_lr is not None else None

    def window(self, t: int, frame, w: int, lo, shape, shown: bool) -> None:
        f, config = self.lay.factor, self.config
        hr_lo, hr_shape = np.asarray(lo) * f, tuple(n * f for n in shape)
        x, v_lr = self._read_input(t, lo, shape)
        frames_hr = self._produce(t, hr_lo, hr_shape, x, v_lr)
        t0 = time.perf_counter()
        vel_hr = self._velocity(t, hr_lo, hr_shape, v_lr)
        imgs = {name: render(y, config.axis, config.density_scale)
                for name, y in frames_hr.items()}
        prev = self.acc.previous(w)
        self.acc.add(x, frames_hr, vel_hr, images=imgs, window=w)
        self.timings["metrics"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        lay = self.lay
        if shown and (frame in self.preview or (t > 0 and lay.frames[t - 1] in self.preview)):
            sub = Layout(f, np.asarray(lo), tuple(shape), lay.lr_matrix, lay.frames)
            _pictures(frame, t, sub, x, frames_hr, prev, self.results, self.input_previews,
                      self.preview, config.axis, config)
        self.timings["pictures"] += time.perf_counter() - t0

    def finish(self, start: float) -> Evaluation:
        """Each method's summary (the accumulator's, with its time per frame) and spectrum."""
        t0 = time.perf_counter()
        n = len(self.lay.frames)
        summary = self.acc.summary()
        for name, r in self.results.items():
            r.per_frame, r.spectrum = self.acc.per_frame[name], self.acc.spectrum[name]
            s = {**summary[name], "seconds_per_frame": r.seconds / n}
            r.summary = {k: s.get(k, math.nan) for k in SUMMARY_KEYS}
        self.timings["metrics"] += time.perf_counter() - t0
        ev = Evaluation(self.lay, list(self.results.values()), self.input_previews,
                        list(self.lay.frames), self.notes)
        ev.timings = {k: round(v, 3) for k, v in self.timings.items()}
        ev.seconds = time.perf_counter() - start
        return ev


def evaluate(inputs: VdbSequence, output: VdbSequence | None, reference: VdbSequence | None,
             baselines: list[str], lay: Layout, config: EvalConfig, options: ReadOptions,
             baseline_options: dict | None = None, progress=None,
             windows: list[tuple[np.ndarray, tuple[int, ...]]] | None = None) -> Evaluation:
    """Every metric of every method over the frames of `lay`. `windows` (low-res lo, shape;
    `sequences.eval_regions`) evaluates a sparse sequence region by region: only the regions
    are read, and the metrics combine over them (docs/guarantees.md)."""
    start = time.perf_counter()
    f = lay.factor
    regions = windows is not None
    if regions:
        _refuse_stateful_baselines(baselines, windows, lay)
    windows = windows if regions else [(lay.lr_lo, tuple(lay.lr_shape))]
    sources = _sources(output, reference, baselines, f, baseline_options)
    lpips = im.load_lpips(config.lpips_weights) if config.lpips_weights else None
    notes = _notes(reference is not None, lpips is not None, len(windows) if regions else 0)
    acc = MetricAccumulator([s.name for s in sources], f,
                            REFERENCE if reference is not None else None,
                            spectrum_window=config.window, advection=config.advection,
                            bands=common_bands(windows, f), voxels=_window_voxels(windows, f),
                            lpips=lpips)
    run = _Run(inputs, reference, sources, lay, config, options, regions, acc, notes)
    # pictures show one window: the whole block, or the largest region
    shown = int(np.argmax([np.prod(shape) for _, shape in windows]))
    n_block = float(np.prod(np.array(lay.hr_shape, dtype=float)))
    for t, frame in enumerate(lay.frames):
        for w, (lo, shape) in enumerate(windows):
            run.window(t, frame, w, lo, shape, shown=w == shown)
        acc.end_frame(n_block)
        if progress is not None:
            progress.step(frame=frame)
    return run.finish(start)


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
