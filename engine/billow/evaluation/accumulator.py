"""The one metric accumulator of billow's evaluations: `billow eval` (VDB sequences, region by
region) and the held-out benchmarks (`billow.train.heldout`, paired data) feed it frames and read
the same summaries from it.

Per frame, every method's frame is compared with the input (mass, fidelity to the input), the
reference (L1, PSNR, image metrics of the renders) and its own previous frame (advected
residual, flicker, detail residual, tOF, T-diff, tLP). A frame may arrive in windows (the
occupied regions of a sparse sequence): the accumulator keeps SUMS per frame and takes the
ratios once every window is in, so the metrics are those of the whole block
(docs/guarantees.md). Over the frames it keeps per-frame values and the summed spectra; the
summary is their mean plus the spectral and temporal ratios against the reference.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..metrics import image as im
from ..metrics.fields import downsample_like_training
from ..metrics.spectrum import (Spectrum, band_energy_fraction, detail_log_ratio, radial_spectrum,
                                spectrum_error)
from ..metrics.temporal import advect_frame, high_pass


class MetricAccumulator:
    """Metrics of the methods `names` (one of them `reference`, or None) for factor-`factor`
    upres. Feed each frame with `add` (once per window) then `end_frame`; `start_sequence`
    starts a new sequence (no temporal metrics between sequences); `summary()` at the end.

    `spectrum_window`/`advection`: the spectra's FFT window and the residual's advection;
    `bands`: common band centres for windowed spectra (`common_bands`); `voxels`: high-res
    voxels of all windows together (spectra are volume-weighted over windows); `lpips`: a tLP
    module (or None); `mean_density`: also report each frame's mean density."""

    def __init__(self, names, factor: int, reference: str | None = None, *,
                 spectrum_window: str = "hann", advection: str = "semi-lagrangian",
                 bands: np.ndarray | None = None, voxels: float | None = None, lpips=None,
                 mean_density: bool = False):
        self.names, self.factor, self.reference = list(names), factor, reference
        self.spectrum_window, self.advection = spectrum_window, advection
        self.bands, self.voxels, self.lpips = bands, voxels, lpips
        self.mean_density = mean_density
        self.per_frame: dict[str, dict[str, list[float]]] = {n: {} for n in self.names}
        self.spectra: dict[str, Spectrum] = {}
        self.spectrum: dict[str, Spectrum] = {}  # per method, the mean over frames (summary)
        self.frames = 0
        self.start_sequence()

    def start_sequence(self) -> None:
        # per window: the previous frame of each method, its render, the velocity, its high-pass
        self._state: dict[int, dict] = {}
        self._t = 0
        self._sums: dict[str, dict] = {n: {} for n in self.names}

    def previous(self, window: int = 0) -> dict:
        """Each method's previous frame in `window` ({} at a sequence's first frame)."""
        return self._state.get(window, {}).get("prev", {})

    def add(self, x: torch.Tensor, frames: dict[str, torch.Tensor], velocity, *,
            images: dict | None = None, window: int = 0) -> None:
        """One window of the current frame: the low-res input density `x`, each method's
        high-res frame, the high-res velocity of this frame (what advects it to the next; None
        without one) and, for image metrics, each method's render."""
        f, ref_name = self.factor, self.reference
        st = self._state.setdefault(window, {"prev": {}, "img": {}, "vel": None, "hp": {}})
        ref = frames.get(ref_name) if ref_name else None
        pair = self._t > 0
        for name, y in frames.items():
            acc = self._sums[name]
            against_ref = ref is not None and name != ref_name
            if against_ref:
                _add(acc, l1=float((y - ref).abs().double().sum()),
                     sq=float((y - ref).double().pow(2).sum()))
                acc["peak"] = max(acc.get("peak", -math.inf), float(ref.max()))
            if images is not None:
                acc["images"] = True
                img, img_ref = images[name], images[ref_name] if ref is not None else None
                pixels = float(img.shape[0] * img.shape[1])
                if against_ref:
                    _add(acc, pixels=pixels, image_psnr=pixels * im.psnr_image(img, img_ref),
                         ssim=pixels * im.ssim(img, img_ref))
            down = downsample_like_training(y, f)
            _add(acc, in_num=float((down - x).abs().double().sum()),
                 in_den=float(x.abs().double().sum()), y_sum=float(y.double().sum()),
                 x_sum=float(x.double().sum()))
            acc["dim"] = x.dim()
            spec = _rebinned(radial_spectrum(y, self.spectrum_window), self.bands)
            spec = spec.scaled(float(y.numel()) / (self.voxels or float(y.numel())))
            self.spectra[name] = spec if name not in self.spectra else self.spectra[name] + spec
            if pair:
                values, st["hp"][name] = _coherence_sums(
                    st["prev"][name], y, st["vel"], f, self.advection, st["hp"].get(name))
                _add(acc, **values)
                if images is not None:
                    prev_ref = st["img"].get(ref_name) if ref is not None else None
                    _add(acc, tpixels=pixels, tdiff=pixels * im.tdiff(
                        st["img"][name], img, prev_ref, img_ref))
                    if against_ref:
                        _add(acc, tof=pixels * im.tof(st["img"][name], img, prev_ref, img_ref))
                        if self.lpips is not None:
                            _add(acc, tlp=pixels * im.tlp(self.lpips, st["img"][name], img,
                                                          prev_ref, img_ref))
            else:
                st["hp"][name] = high_pass(y, f)
        st["prev"], st["img"], st["vel"] = frames, images or {}, velocity

    def end_frame(self, voxels: float) -> None:
        """The current frame is complete: its metrics from the sums over its windows, for a
        block of `voxels` high-res voxels."""
        for name, acc in self._sums.items():
            against_ref = self.reference is not None and name != self.reference
            for key, value in _combine(acc, voxels, self.factor, self._t > 0, against_ref,
                                       self.lpips is not None, self.mean_density).items():
                self.per_frame[name].setdefault(key, []).append(float(value))
        self._sums = {n: {} for n in self.names}
        self._t += 1
        self.frames += 1

    def summary(self) -> dict[str, dict[str, float]]:
        """Per method: the mean of each per-frame metric over all frames (undefined frames
        left out), the detail fraction of the mean spectrum, and against the reference the
        spectrum error, the detail log-ratio and the residual and flicker ratios."""
        f, n, out = self.factor, self.frames, {}
        for name in self.names:
            self.spectrum[name] = self.spectra[name].scaled(1.0 / n)
            s = {k: _mean(v) for k, v in self.per_frame[name].items()}
            s["detail_fraction"] = band_energy_fraction(self.spectrum[name], f)
            out[name] = s
        if self.reference:
            ref_s, ref = self.spectrum[self.reference], out[self.reference]
            for name, s in out.items():
                s["detail_log_ratio"] = detail_log_ratio(self.spectrum[name], ref_s, f)
                s["spectrum_error"] = spectrum_error(self.spectrum[name], ref_s, f)
                for key in ("residual", "flicker"):
                    num, den = s.get(key, math.nan), ref.get(key, math.nan)
                    s[key + "_ratio"] = num / den if den and math.isfinite(den) else math.nan
        return out


def common_bands(windows, f: int) -> np.ndarray | None:
    """Band centres all windows' spectra are put on: the largest window's (None for one)."""
    if len(windows) == 1:
        return None
    big = max(windows, key=lambda w: np.prod(w[1]))
    return radial_spectrum(torch.zeros(tuple(n * f for n in big[1])), "none").k


def _mean(values) -> float:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else math.nan


def _add(acc: dict, **values: float) -> None:
    for key, value in values.items():
        acc[key] = acc.get(key, 0.0) + value


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
             with_lpips: bool, mean_density: bool) -> dict[str, float]:
    """One frame's metrics from the sums over its windows. Voxel metrics are those of the
    whole block (voxels outside every region are zero in every method, so they add nothing to
    a sum and count in the means' n_block); image metrics are pixel-weighted means."""
    out: dict[str, float] = {}
    images = acc.get("images", False)
    if against_ref:
        out["l1"] = acc["l1"] / n_block
        mse = acc["sq"] / n_block
        out["psnr"] = (math.inf if mse == 0.0 else
                       10.0 * math.log10(max(acc["peak"], 1e-12) ** 2 / mse))
        if images:
            out["image_psnr"] = acc["image_psnr"] / acc["pixels"]
            out["ssim"] = acc["ssim"] / acc["pixels"]
    out["input_rel_l1"] = _ratio(acc["in_num"], acc["in_den"])
    denom = acc["x_sum"] * f ** acc["dim"]
    out["mass_ratio"] = acc["y_sum"] / denom if denom != 0 else math.nan
    if mean_density:
        out["mean_density"] = acc["y_sum"] / n_block
    if pair:
        detail = math.sqrt(acc["detail"])
        has_vel = acc.get("with_velocity", 0.0) > 0
        out["residual"] = _ratio(acc["res"], acc["norm"]) if has_vel else math.nan
        out["flicker"] = math.sqrt(acc["flick"]) / detail if detail > 0 else math.nan
        out["detail_residual"] = (math.sqrt(acc["dres"]) / detail if has_vel and detail > 0
                                  else math.nan)
        if images:
            out["tdiff"] = acc["tdiff"] / acc["tpixels"]
            if against_ref:
                out["tof"] = acc["tof"] / acc["tpixels"]
                if with_lpips:
                    out["tlp"] = acc["tlp"] / acc["tpixels"]
    return out
