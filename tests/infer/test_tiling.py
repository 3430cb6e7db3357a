"""Seam-free sparse tiling (`billow.ops.tiling`) in the upres, with the real ONNX Runtime backend."""

from __future__ import annotations

import numpy as np
import pytest

from billow.infer import UpresConfig, load_card, make_backend, upres_frame
from billow.io import ReadOptions, read_smoke_frame

from .conftest import smoke_frame


def dense(builders, name="density"):
    """Read back the one density builder's grid as a dense block (via a temporary file)."""
    grid = [b for b in builders if b.grid.name == name][0].finish()
    lo, hi = grid.evalActiveVoxelBoundingBox()
    shape = tuple(b - a + 1 for a, b in zip(lo, hi))
    out = np.zeros(shape, np.float32)
    grid.copyToArray(out, lo)
    return out, tuple(lo), grid.activeVoxelCount()


def test_tiled_equals_untiled(tmp_path, toy_model):
    frame = read_smoke_frame(smoke_frame(tmp_path / "f.vdb"), ReadOptions())
    card = load_card(toy_model)
    backend = make_backend(card)
    cfg = UpresConfig(threshold=0.0)
    whole = upres_frame(frame, backend.run, card, cfg, tile=64, cache_up="y", settings={})
    tiled = upres_frame(frame, backend.run, card, UpresConfig(threshold=0.0, batch=3), tile=5,
                        cache_up="y", settings={})
    (a, lo_a, _), (b, lo_b, _) = dense(whole), dense(tiled)
    # the tiled run skips empty tiles: compare where it ran, background elsewhere
    ran = b != 0
    off = np.array(lo_b) - np.array(lo_a)
    a_on_b = a[tuple(slice(o, o + n) for o, n in zip(off, b.shape))]
    assert ran.sum() > 1000
    np.testing.assert_allclose(b[ran], a_on_b[ran], rtol=1e-5, atol=1e-6)


def test_onnx_and_torch_backends_agree(tmp_path, toy_model):
    frame = read_smoke_frame(smoke_frame(tmp_path / "f.vdb"), ReadOptions())
    import torch

    from billow.infer.backends import TorchBackend
    from tests.infer.toy_model import ToyUpres

    card = load_card(toy_model)
    # a test network is not one of billow's architectures, so a card cannot name it for the
    # torch backend (cards are data): build it here from the exported weights
    net = ToyUpres()
    net.load_state_dict(torch.load(toy_model.with_suffix(".pt"), weights_only=True))
    runs = [make_backend(card).run, TorchBackend(net).run]
    outs = [dense(upres_frame(frame, run, card, UpresConfig(), tile=16,
                              cache_up="y", settings={}))[0] for run in runs]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scale", [4, 8, 16])
def test_output_overlays_the_input(tmp_path, nearest_model, scale):
    """Centre of mass of the output in world space equals the input's (no half-voxel shift),
    for the single pass and the recursive 8x/16x paths."""
    from billow.io import list_grids, read_grid

    frame = read_smoke_frame(smoke_frame(tmp_path / "f.vdb"), ReadOptions())
    card = load_card(nearest_model)
    builders = upres_frame(frame, make_backend(card).run, card,
                           UpresConfig(scale=scale, threshold=0.0),
                           tile=24, cache_up="y", settings={})
    from billow.io import write_vdb

    out = read_grid(write_vdb(tmp_path / "o.vdb", builders), "density")

    def com(vol):
        w = vol.data / vol.data.sum()
        return (vol.cell_centres() * w[..., None]).sum(axis=(0, 1, 2))

    voxel_out = 0.1 / scale
    # a half-voxel shift would move it by 0.5 output voxels (or more, compounded over passes)
    assert np.abs(com(out) - com(frame.density)).max() < 0.01 * voxel_out
    assert list_grids(tmp_path / "o.vdb")[0].voxel_size[0] == pytest.approx(voxel_out)


def test_tile_for_memory_uses_the_measured_model_and_prefers_large_tiles():
    import dataclasses

    from billow.infer.models import default_model
    from billow.infer.upres import tile_for_memory, tile_memory_bytes

    card = load_card(default_model())
    assert "bytes_per_output_voxel" not in card.extra  # the shipped card does not say
    for gb in (0.25, 1.0, 4.0):
        t = tile_for_memory(card, gb, 1)
        assert tile_memory_bytes(card, t, 1) <= gb * 2**30 or t == 8
        assert t == 256 or tile_memory_bytes(card, t + 8, 1) > gb * 2**30
    # 1 GB: the measured ~216 B per core voxel (core-only tiles) gives 40-cell tiles, where
    # costing the padded window at 256 B/voxel gave 24
    assert tile_for_memory(card, 1.0, 1) >= 40
    assert tile_for_memory(card, 1.0, 2) <= tile_for_memory(card, 1.0, 1)
    # a card that states its own figure is believed
    stated = dataclasses.replace(card, bytes_per_output_voxel=256.0,
                                 extra={**card.extra, "bytes_per_output_voxel": 256.0})
    assert tile_for_memory(stated, 1.0, 1) < tile_for_memory(card, 1.0, 1)


def test_recursive_passes_feed_each_pass_the_previous_output(tmp_path, toy_model):
    """8x (16x takes the same code path with a larger step): the second pass reads the first pass's whole output (downsampled to `step` x
    the input), never a stale or missing intermediate; equal to running the two passes by
    hand, bit for bit."""
    from billow.infer.upres import input_scales, upres_blocks
    from billow.io import Volume
    from billow.ops import downsample, upsample
    import torch

    frame = read_smoke_frame(smoke_frame(tmp_path / "f.vdb"), ReadOptions())
    card = load_card(toy_model)
    run = make_backend(card).run
    dens, vel = frame.density, frame.velocity.data
    scales = input_scales(dens.data, vel, card)

    def assemble(blocks, shape):
        out = np.zeros(shape, np.float32)
        for block, offset in blocks:
            lo = np.array(offset) - origin
            out[tuple(slice(a, a + n) for a, n in zip(lo, block.shape))] = block
        return out

    f, scale = card.scale, 2 * card.scale
    step = scale // f  # the second pass works at `step` x the input resolution
    origin = np.array(dens.offset) * f
    first = assemble(upres_blocks(dens, vel, run, card, UpresConfig(scale=f), 24, scales),
                     tuple(f * n for n in dens.shape))
    d2 = first if f // step == 1 else downsample(torch.from_numpy(first)[None, None],
                                                 f // step)[0, 0].numpy()
    v2 = upsample(torch.from_numpy(np.ascontiguousarray(vel.transpose(3, 0, 1, 2)))[None], step,
                  "trilinear")[0].numpy().transpose(1, 2, 3, 0) * step
    second_in = Volume("density", d2, tuple(int(o) * step for o in dens.offset), dens.matrix)
    origin = np.array(dens.offset) * step * f
    by_hand = assemble(upres_blocks(second_in, v2, run, card, UpresConfig(scale=f), 24,
                                    (scales[0], scales[1] * step)), tuple(f * n for n in d2.shape))
    origin = np.array(dens.offset) * scale
    both = assemble(upres_blocks(dens, vel, run, card, UpresConfig(scale=scale), 24, scales),
                    tuple(scale * n for n in dens.shape))
    assert by_hand.any() and np.array_equal(both, by_hand)
