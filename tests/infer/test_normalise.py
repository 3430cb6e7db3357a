"""Whole-frame normalisation (issue 17): models whose card says `"normalise": "frame"` give
upres(k x density) = k x upres(density), tiled equal to whole-volume, with the scales in the
output metadata."""

from __future__ import annotations

import numpy as np
import pytest

from billow.io import Volume, read_grid, write_vdb
from billow.ops.normalise import MIN_SPEED, frame_scales

from ..commands.cli_helpers import billow
from ..conftest import blob, scaled_matrix
from .toy_model import export_toy


def _field(seed=0, shape=(20, 16, 18)):
    rng = np.random.default_rng(seed)
    d = (blob(shape, (8, 7, 9), 3.5) + 0.4 * blob(shape, (14, 10, 6), 2.0)).astype(np.float32)
    v = rng.normal(0, 0.3, shape + (3,)).astype(np.float32)
    return d, v


def test_frame_scales_are_homogeneous():
    d, v = _field()
    s_d, s_v = frame_scales(d, v)
    for k in (0.1, 10.0):
        ks_d, ks_v = frame_scales(k * d, v)
        assert ks_d == pytest.approx(k * s_d, rel=1e-6)  # float32 input
        assert ks_v == pytest.approx(s_v, rel=1e-6)  # speed does not depend on amplitude
        assert frame_scales(d, k * v)[1] == pytest.approx(k * s_v, rel=1e-6)
    assert frame_scales(np.zeros_like(d), v) == (1.0, 1.0)
    assert frame_scales(d, np.zeros_like(v))[1] == MIN_SPEED
    # weighted by density: a faint haze over the whole box barely moves s_d
    assert frame_scales(d + 1e-4, v)[0] == pytest.approx(s_d, rel=0.02)


def _write(path, d, v):
    m = scaled_matrix(0.1)
    write_vdb(path, [Volume("density", d, (0, 0, 0), m),
                     Volume("vel", v * 2.4, (0, 0, 0), m, vector_type="contravariant relative")],
              metadata={})


def _upres(model, src, out, *extra):
    r = billow("upres", src, out, "--model", model, "--progress", "none", *extra)
    assert r.code == 0, r.err
    return read_grid(out, "density")


@pytest.mark.parametrize("normalise", ["frame", "none"])
def test_amplitude_equivariance_end_to_end(tmp_path, normalise):
    model = export_toy(tmp_path / f"m_{normalise}", normalise=normalise)
    d, v = _field()
    outs = {}
    for k in (1.0, 0.1, 10.0):
        _write(tmp_path / f"in_{k}.vdb", k * d, v)
        outs[k] = _upres(model, tmp_path / f"in_{k}.vdb", tmp_path / f"out_{normalise}_{k}.vdb")
    base = outs[1.0]
    errors = []
    for k in (0.1, 10.0):
        g = outs[k]
        assert g.offset == base.offset and g.shape == base.shape
        errors.append(float(np.abs(g.data / k - base.data).sum() / np.abs(base.data).sum()))
    if normalise == "frame":
        # exact up to float32 rounding: the background threshold scales with the frame too
        # (an absolute 1e-4 pruned the faintest voxels of the 0.1x output: ~3% of its mass)
        assert max(errors) < 1e-5
        meta = base.metadata
        assert meta["billow_density_scale"] == pytest.approx(frame_scales(d, v * 1.0)[0],
                                                             rel=1e-4)
        assert meta["billow_density_threshold"] == pytest.approx(
            1e-4 * meta["billow_density_scale"], rel=1e-6)
        assert outs[0.1].metadata["billow_density_threshold"] == pytest.approx(
            0.1 * meta["billow_density_threshold"], rel=1e-4)
        assert "billow_speed_scale" in meta
    else:  # the toy network is not homogeneous: without normalisation the test must fail
        assert max(errors) > 1e-2


def test_normalised_tiled_equals_whole_volume(tmp_path):
    model = export_toy(tmp_path / "m", normalise="frame")
    d, v = _field(1)
    _write(tmp_path / "in.vdb", d, v)
    small = _upres(model, tmp_path / "in.vdb", tmp_path / "small.vdb", "--tile", "8")
    whole = _upres(model, tmp_path / "in.vdb", tmp_path / "whole.vdb", "--tile", "64")
    assert small.offset == whole.offset
    np.testing.assert_allclose(small.data, whole.data, atol=1e-6)


def test_regions_use_the_whole_frame_scales(tmp_path):
    """A sparse cache upres'd region by region divides every region by the WHOLE frame's
    scales, so the result equals the one-block run."""
    import os

    model = export_toy(tmp_path / "m", normalise="frame")
    shape = (60, 16, 16)
    d = (blob(shape, (8, 8, 8), 3.0) + 0.3 * blob(shape, (50, 8, 8), 2.0)).astype(np.float32)
    v = np.zeros(shape + (3,), np.float32)
    v[..., 1] = 0.5 * (d > 0)
    _write(tmp_path / "in.vdb", d, v)
    outs = {}
    for mode in ("never", "always"):
        os.environ["BILLOW_REGIONS"] = mode
        try:
            outs[mode] = _upres(model, tmp_path / "in.vdb", tmp_path / f"{mode}.vdb")
        finally:
            del os.environ["BILLOW_REGIONS"]
    a, b = outs["never"], outs["always"]
    assert a.metadata["billow_density_scale"] == pytest.approx(
        b.metadata["billow_density_scale"], rel=1e-9)
    lo = np.minimum(a.offset, b.offset)
    hi = np.maximum(np.add(a.offset, a.shape), np.add(b.offset, b.shape))
    dense = []
    for g in (a, b):
        full = np.zeros(tuple(hi - lo), np.float32)
        o = np.subtract(g.offset, lo)
        full[tuple(slice(x, x + n) for x, n in zip(o, g.shape))] = g.data
        dense.append(full)
    # compare where there is smoke: the toy network's biases give empty tiles a faint
    # background, and the two modes skip different empty tiles
    smoke = np.kron(d > 1e-3, np.ones((4, 4, 4), bool))
    o = -lo  # output index of input voxel 0 (input offset is 0)
    window = tuple(slice(x, x + n) for x, n in zip(o, smoke.shape))
    np.testing.assert_allclose(dense[0][window][smoke], dense[1][window][smoke], atol=1e-6)
