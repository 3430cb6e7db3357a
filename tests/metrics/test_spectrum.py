"""Energy spectra: white noise is flat, smooth fields have no high band, log-ratios."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from billow.metrics import (band_energy_fraction, detail_log_ratio, log_ratio, radial_spectrum,
                            spectrum_error)

from .conftest import gaussian_blob


@pytest.mark.parametrize("shape", [(128, 128), (48, 48, 48), (40, 32, 36)])
@pytest.mark.parametrize("window", ["hann", "none"])
def test_white_noise_has_a_flat_spectrum(shape, window):
    g = torch.Generator().manual_seed(1)
    s = radial_spectrum(2.0 * torch.randn(shape, generator=g), window)
    for _ in range(3):  # average a few realisations, as the report averages frames
        s = s + radial_spectrum(2.0 * torch.randn(shape, generator=g), window)
    s = s.scaled(0.25)
    # band 0 holds the removed mean; low bands average few modes, so test the trend and the
    # level over the bands with many modes
    k, p = s.k[4:], s.power[4:]
    slope = np.polyfit(np.log10(k), np.log10(p), 1)[0]
    assert abs(slope) < 0.1, slope
    assert abs(np.log10(p.mean() / 4.0)) < 0.05
    assert np.all(np.abs(np.log10(p / 4.0)) < 0.3), np.round(p, 2)
    assert s.k[-1] == pytest.approx(0.5, abs=1e-9)


def test_detail_ratio_of_smooth_and_detailed_fields():
    shape = (48, 48, 48)
    smooth = gaussian_blob(shape, (24, 20, 26), 6.0)
    g = torch.Generator().manual_seed(2)
    detailed = smooth + 0.05 * torch.randn(shape, generator=g)
    s_smooth, s_det = radial_spectrum(smooth), radial_spectrum(detailed)
    assert detail_log_ratio(s_det, s_det, 4) == 0.0
    assert detail_log_ratio(s_smooth, s_det, 4) < -2.0  # far less fine detail
    assert band_energy_fraction(s_smooth, 4) < 0.01 * band_energy_fraction(s_det, 4)
    assert np.allclose(log_ratio(s_det, s_det), 0.0)


def test_spectrum_error_counts_too_much_and_too_little_detail():
    shape = (48, 48)
    g = torch.Generator().manual_seed(3)
    smooth = gaussian_blob(shape, (24, 20), 6.0)
    ref = smooth + 0.05 * torch.randn(shape, generator=g)
    s_ref = radial_spectrum(ref)
    too_little, quieter = radial_spectrum(smooth), radial_spectrum(smooth + 0.5 * (ref - smooth))
    assert spectrum_error(s_ref, s_ref, 4) == 0.0
    # Twice the noise amplitude is 4x the power everywhere above Nyquist: log10(4) each band.
    louder = radial_spectrum(smooth + 2.0 * (ref - smooth))
    assert spectrum_error(louder, s_ref, 4) == pytest.approx(np.log10(4.0), abs=0.05)
    assert spectrum_error(quieter, s_ref, 4) == pytest.approx(np.log10(4.0), abs=0.05)
    assert spectrum_error(too_little, s_ref, 4) > 2.0
