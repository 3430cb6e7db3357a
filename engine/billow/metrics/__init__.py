"""Physics-aware quality metrics for smoke upres, and the reports built from them.

Per frame (numpy or torch, `[x, y]` or `[x, y, z]`):
- reference fidelity: `l1`, `psnr`;
- input fidelity: `input_fidelity` (training-filter downsample vs input, relative L1),
  `mass_ratio`;
- detail: `radial_spectrum`, `log_ratio`, `detail_log_ratio`, `spectrum_error` (above the input's Nyquist);
- temporal coherence: `advected_residual`, `flicker`, `detail_residual`, `time_derivative`;
- 2D images: `psnr_image`, `ssim`, `tof`, `tdiff`, `tlp` (with `load_lpips`);
- pictures: `slice_image`, `projection`, `signed_rgb`, `render`;
- out-of-family failure modes (`artefacts`): `lattice_measure`, `high_band_energy`,
  `equivariance`, `brightness`, `brightness_ratio`.
A leaf library: it imports no other billow layer above `ops`. Whole sequences and reports
(`billow eval`) are `billow.evaluation`.
"""

from .artefacts import (brightness, brightness_ratio, equivariance, high_band_energy,
                        lattice_measure)
from .fields import input_fidelity, l1, mass_ratio, psnr, relative_l1
from .image import load_lpips, optical_flow, psnr_image, ssim, tdiff, tlp, tof
from .render import projection, render, signed_rgb, slice_image
from .spectrum import (Spectrum, band_energy_fraction, detail_log_ratio, log_ratio, radial_spectrum,
                       spectrum_error)
from .temporal import (advect_frame, advected_residual, detail_residual, flicker, high_pass,
                       time_derivative)

__all__ = [
    "Spectrum", "advect_frame", "advected_residual", "band_energy_fraction", "brightness",
    "brightness_ratio", "detail_log_ratio", "spectrum_error", "detail_residual", "equivariance",
    "high_band_energy", "lattice_measure",
    "flicker", "high_pass", "input_fidelity", "l1", "load_lpips", "log_ratio", "mass_ratio",
    "optical_flow", "projection", "psnr", "psnr_image", "radial_spectrum", "relative_l1",
    "render", "signed_rgb", "slice_image", "ssim", "tdiff", "time_derivative", "tlp", "tof",
]
