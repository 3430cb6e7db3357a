"""The temporal filter along the flow (`billow.ops.steady`): invariants, not magic numbers."""

from __future__ import annotations

import numpy as np
import pytest
from billow.ops.steady import parse_taps, steady_frame

N, B = 24, 4


def _noise(rng, shape=(N, N, N)):
    return rng.random(shape).astype(np.float32)


def _base(rng):
    """Smooth positive smoke with detail finer than the 4-cell blocks on top."""
    x = np.linspace(-1, 1, N)
    g = np.exp(-4 * (x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2))
    return (g * (0.6 + 0.4 * _noise(rng))).astype(np.float32)


def _still(n):
    return [np.zeros((3, N, N, N), np.float32) for _ in range(n)]


def _fine_change(a, b):
    """RMS of the frame-to-frame change finer than the blocks (block means removed)."""
    d = (b - a).reshape(N // B, B, N // B, B, N // B, B)
    d = d - d.mean(axis=(1, 3, 5), keepdims=True)
    return float(np.sqrt((d ** 2).mean()))


def test_without_history_or_change_the_frame_is_kept():
    rng = np.random.default_rng(0)
    y = _base(rng)
    assert np.array_equal(steady_frame([y], _still(1), [1, 1, 1], B), y)
    out = steady_frame([y, y, y], _still(3), [1, 1, 1], B)
    np.testing.assert_allclose(out, y, rtol=1e-5, atol=1e-6)


def test_detail_that_follows_the_flow_is_kept():
    """A pattern moving one cell per frame along x, advected exactly (whole cells): the
    carried-forward frames equal the current one, so nothing is averaged away."""
    rng = np.random.default_rng(1)
    window = ((np.arange(N) >= 4) & (np.arange(N) < N - 6))[:, None, None]
    big = _base(rng) * window  # empty at both x ends, so the shifts below never wrap
    frames = [np.roll(big, k, axis=0) for k in range(3)]
    vel = _still(3)
    for v in vel:
        v[0] = 1.0
    out = steady_frame(frames, vel, [1, 1, 1], B)
    np.testing.assert_allclose(out, frames[-1], rtol=1e-4, atol=1e-6)


def test_boiling_detail_is_calmed_and_cell_means_kept():
    """Still smoke whose sub-cell detail is re-drawn every frame: the filtered frames change
    less per frame, while each 4^3 cell keeps (nearly) its mean and the total its mass."""
    rng = np.random.default_rng(2)
    base = _base(rng)
    raw = [base * (0.7 + 0.6 * _noise(rng)) for _ in range(6)]
    taps = [1, 1, 1]
    out = [steady_frame(raw[max(0, t - 2):t + 1], _still(min(t, 2) + 1), taps, B)
           for t in range(6)]
    before = np.mean([_fine_change(raw[t - 1], raw[t]) for t in range(3, 6)])
    after = np.mean([_fine_change(out[t - 1], out[t]) for t in range(3, 6)])
    assert after < 0.6 * before
    for t in range(2, 6):
        assert abs(out[t].sum() / raw[t].sum() - 1) < 0.01
        m_out = out[t].reshape(N // B, B, N // B, B, N // B, B).mean(axis=(1, 3, 5))
        m_raw = raw[t].reshape(N // B, B, N // B, B, N // B, B).mean(axis=(1, 3, 5))
        assert np.abs(m_out - m_raw).max() < 0.05 * m_raw.max()
        assert (out[t] >= 0).all()


@pytest.mark.parametrize("k", [0.1, 10.0])
def test_amplitude_equivariance(k):
    rng = np.random.default_rng(3)
    base = _base(rng)
    raw = [base * (0.7 + 0.6 * _noise(rng)) for _ in range(3)]
    one = steady_frame(raw, _still(3), [1, 2, 1], B)
    scaled = steady_frame([k * r for r in raw], _still(3), [1, 2, 1], B)
    np.testing.assert_allclose(scaled, k * one, rtol=1e-4, atol=1e-6 * k)


@pytest.mark.parametrize("text", ["", "1,x", "0,1", "1,-1", "nan"])
def test_bad_taps_are_refused(text):
    with pytest.raises(ValueError, match="--taps"):
        parse_taps(text)


def test_taps_parse_newest_first():
    assert parse_taps("2,1,0.5") == [2.0, 1.0, 0.5]


def test_keep_detail_restores_the_detail_energy_the_average_loses():
    """Averaging frames whose detail is re-drawn weakens that detail; --keep-detail scales it
    back towards the raw frame's energy (capped at 2x per cell), still calmer than raw."""
    import torch
    from billow.ops.downsample import blur_sigma, gaussian_blur

    rng = np.random.default_rng(4)
    base = _base(rng)
    raw = [base * (0.7 + 0.6 * _noise(rng)) for _ in range(5)]

    def energy(y):
        t = torch.from_numpy(y)[None, None]
        return float((t - gaussian_blur(t, blur_sigma(B))).pow(2)[..., 4:-4, 4:-4, 4:-4].mean())

    soft = [steady_frame(raw[t - 2:t + 1], _still(3), [1, 1, 1], B, keep_detail=False)
            for t in (3, 4)]
    kept = [steady_frame(raw[t - 2:t + 1], _still(3), [1, 1, 1], B) for t in (3, 4)]
    assert energy(soft[1]) < 0.75 * energy(raw[4])
    assert 0.8 * energy(raw[4]) < energy(kept[1]) < 1.2 * energy(raw[4])
    assert _fine_change(kept[0], kept[1]) < 0.8 * _fine_change(raw[3], raw[4])
    assert abs(kept[1].sum() / raw[4].sum() - 1) < 0.01 and (kept[1] >= 0).all()
