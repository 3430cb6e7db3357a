"""Temporal coherence: transported fields have (near) zero advected residual with their true
velocity; re-invented detail flickers."""

from __future__ import annotations

import math

import pytest
import torch

from billow.metrics import advected_residual, detail_residual, flicker, time_derivative

from .conftest import band_noise, gaussian_blob


def test_translating_blob_has_zero_residual_with_its_true_velocity():
    shape = (32, 32, 32)
    v = torch.zeros(3, *shape)
    v[0], v[2] = 1.0, -2.0  # whole cells per frame: semi-Lagrangian advection is exact
    prev = gaussian_blob(shape, (15.0, 16.0, 17.0), 2.0)
    cur = gaussian_blob(shape, (16.0, 16.0, 15.0), 2.0)
    assert advected_residual(prev, cur, v) < 1e-6
    assert advected_residual(prev, cur, torch.zeros_like(v)) > 0.3


def test_fractional_translation_residual_is_small_and_wrong_velocity_is_not():
    shape = (32, 32)
    v = torch.zeros(2, *shape)
    v[0], v[1] = 0.4, -0.3
    prev = gaussian_blob(shape, (14.0, 15.0), 3.5)
    cur = gaussian_blob(shape, (14.4, 14.7), 3.5)
    good = advected_residual(prev, cur, v)
    for order in ("semi-lagrangian", "maccormack"):
        assert advected_residual(prev, cur, v, order) < 0.02
    assert advected_residual(prev, cur, -v) > 5 * good


def test_flicker_separates_transported_from_reinvented_detail():
    shape = (48, 48)
    base = gaussian_blob(shape, (24.0, 24.0), 8.0)
    detail = band_noise(shape, 0)
    steady = [base * (1 + 2 * detail), base * (1 + 2 * detail)]
    popping = [base * (1 + 2 * band_noise(shape, 1)), base * (1 + 2 * band_noise(shape, 2))]
    assert flicker(*steady, 4) == 0.0
    assert flicker(*popping, 4) > 1.2  # independent detail: ~sqrt(2)
    assert math.isnan(flicker(base, torch.zeros(shape), 4))
    d = time_derivative(steady[0], popping[1])
    assert d.shape == shape


def test_detail_residual_is_zero_for_transported_detail():
    shape = (48, 48)
    v = torch.zeros(2, *shape)
    v[0] = 2.0
    field = gaussian_blob(shape, (20.0, 24.0), 5.0) * (1 + 2 * band_noise(shape, 0))
    moved = torch.roll(field, 2, dims=0)
    assert detail_residual(field, moved, v, 4) < 1e-3
    assert flicker(field, moved, 4) > 0.5  # moving detail changes; flicker alone cannot tell
    reinvented = gaussian_blob(shape, (22.0, 24.0), 5.0) * (1 + 2 * band_noise(shape, 5))
    assert detail_residual(field, reinvented, v, 4) > 1.2


def test_coherence_matches_the_single_metrics():
    from billow.metrics.temporal import coherence

    shape = (40, 40)
    v = torch.zeros(2, *shape)
    v[0], v[1] = 0.7, -0.4
    a = gaussian_blob(shape, (18.0, 20.0), 5.0) * (1 + 2 * band_noise(shape, 0))
    b = gaussian_blob(shape, (19.0, 19.0), 5.0) * (1 + 2 * band_noise(shape, 1))
    values, hp = coherence(a, b, v, 4)
    assert values["residual"] == pytest.approx(advected_residual(a, b, v), rel=1e-5)
    assert values["flicker"] == pytest.approx(flicker(a, b, 4), rel=1e-4)
    assert values["detail_residual"] == pytest.approx(detail_residual(a, b, v, 4), rel=1e-4)
    again, _ = coherence(a, b, v, 4, hp_previous=coherence(b, a, v, 4)[1])
    assert again["flicker"] == pytest.approx(values["flicker"], rel=1e-4)
