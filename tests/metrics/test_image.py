"""2D image metrics: PSNR, SSIM, optical-flow tOF, warped T-diff, LPIPS only with weights."""

from __future__ import annotations

import numpy as np
import pytest

from billow.errors import MissingDependencyError
from billow.metrics import load_lpips, optical_flow, psnr_image, ssim, tdiff, tof

from .conftest import gaussian_blob


def frames(shift):
    return np.clip(gaussian_blob((64, 64), (32.0 + shift, 30.0), 6.0).numpy().T * 0.9
                   + gaussian_blob((64, 64), (20.0 + shift, 44.0), 3.0).numpy().T * 0.5, 0, 1)


def test_psnr_and_ssim():
    a = frames(0)
    rng = np.random.default_rng(0)
    noisy = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    assert ssim(a, noisy) < 0.9
    assert psnr_image(a, a) == float("inf")
    assert 15 < psnr_image(a, noisy) < 25
    rgb = np.stack([a, a, a], -1)
    assert ssim(rgb, rgb) == pytest.approx(1.0, abs=1e-6)


def test_optical_flow_metrics():
    seq = [frames(0), frames(2)]
    flow = optical_flow(*seq)
    inside = gaussian_blob((64, 64), (32.0, 30.0), 6.0).numpy().T > 0.5
    assert np.median(flow[..., 0][inside]) == pytest.approx(2.0, abs=0.5)  # moves +x
    assert tof(*seq, *seq) == 0.0
    still = [frames(0), frames(0)]
    assert tof(*still, *seq) > 0.2
    # warping with the flow explains the motion: T-diff far below the raw difference
    raw = float(np.abs(seq[1] - seq[0]).mean())
    assert tdiff(*seq) < 0.3 * raw


def test_lpips_needs_user_weights(tmp_path):
    with pytest.raises(MissingDependencyError, match="cannot download"):
        load_lpips(None)
    bad = tmp_path / "lpips.pt"
    bad.write_bytes(b"not a model")
    from billow.errors import InputError

    with pytest.raises(InputError, match="TorchScript"):
        load_lpips(bad)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script, test side only
def test_tlp_with_user_supplied_torchscript_weights(tmp_path):
    import torch

    from billow.metrics import tlp

    class L1Distance(torch.nn.Module):  # stands in for an exported LPIPS network
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a - b).abs().mean(dim=(1, 2, 3))

    path = tmp_path / "lpips.pt"
    torch.jit.script(L1Distance()).save(str(path))
    model = load_lpips(path)
    seq = [frames(0), frames(2)]
    assert tlp(model, *seq, *seq) == 0.0
    assert tlp(model, frames(0), frames(0), *seq) > 0.0
