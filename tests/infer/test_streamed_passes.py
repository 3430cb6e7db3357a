"""8x/16x without a dense intermediate: the streamed second pass (`billow.infer.upres`) against
the dense reference it replaced, bit for bit, with the real ONNX Runtime backend; and the
windowed downsample it is built on against the whole-field one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from billow.infer import UpresConfig, load_card, make_backend
from billow.infer.art import network_velocity
from billow.infer.upres import (_dense_passes, input_scales, second_pass_memory_bytes,
                                upres_blocks)
from billow.io import ReadOptions, Volume, read_smoke_frame
from billow.ops import downsample, downsample_region

from .conftest import smoke_frame
from .toy_model import export_toy


@pytest.mark.parametrize("factor", [2, 4])
def test_downsample_region_is_the_whole_field_result_bit_for_bit(factor):
    rng = np.random.default_rng(factor)
    shape = (48, 36, 60)
    x = rng.random(shape, dtype=np.float32)
    whole = downsample(torch.from_numpy(x)[None, None], factor)[0, 0].numpy()
    reads = []

    def read(lo, hi):
        reads.append(int(np.prod([b - a for a, b in zip(lo, hi)])))
        return x[tuple(slice(a, b) for a, b in zip(lo, hi))]

    m = whole.shape
    boxes = [((0, 0, 0), m), ((1, 2, 3), (5, 7, 9)), ((m[0] - 3, 0, 4), (m[0], 4, m[2]))]
    boxes += [(tuple(int(rng.integers(0, n)) for n in m),) for _ in range(6)]
    for box in boxes:
        lo = box[0]
        hi = box[1] if len(box) > 1 else tuple(int(rng.integers(a + 1, n + 1))
                                               for a, n in zip(lo, m))
        got = downsample_region(read, shape, factor, lo, hi).numpy()
        assert np.array_equal(got, whole[tuple(slice(a, b) for a, b in zip(lo, hi))])
    # a window reads its own footprint: its cells' taps and the blur's radius around them
    from billow.ops.downsample import blur_radius

    assert reads[1] <= np.prod([factor * n + 2 * (blur_radius(factor) + 1) for n in (4, 5, 6)])


def _assemble(blocks):
    blocks = list(blocks)
    lo = np.min([o for _, o in blocks], axis=0)
    hi = np.max([np.array(o) + b.shape for b, o in blocks], axis=0)
    out = np.zeros(hi - lo, np.float32)
    for b, o in blocks:
        out[tuple(slice(a - l, a - l + n) for a, l, n in zip(o, lo, b.shape))] = b
    return out, tuple(lo), len(blocks)


@pytest.mark.parametrize("scale,tile,batch,blend,slider", [
    (8, 5, 1, 0.0, False), (8, 24, 3, 0.3, False), (16, 12, 2, 0.0, False),
    (8, 7, 2, 0.0, True)])
def test_streamed_second_pass_equals_the_dense_one(tmp_path, toy_model, scale, tile, batch,
                                                   blend, slider):
    """Also for a model that takes the slider as its `detail` channel (a per-voxel factor
    here, as a mask makes it), which the second pass up-samples but does not scale."""
    frame = read_smoke_frame(smoke_frame(tmp_path / "f.vdb"), ReadOptions())
    if slider:
        toy_model = export_toy(tmp_path / "m", "gated_x4", channels=5, card_channels=[
            "density", "vel.x", "vel.y", "vel.z", "detail"])
    card = load_card(toy_model)
    run = make_backend(card).run
    # one blob and the empty space beside it (small: 16x is 4096 output voxels per input one)
    box = (slice(2, 16), slice(4, 16), slice(6, 18))
    dens = Volume("density", np.ascontiguousarray(frame.density.data[box]),
                  tuple(o + b.start for o, b in zip(frame.density.offset, box)),
                  frame.density.matrix)
    vel = np.ascontiguousarray(frame.velocity.data[box])
    scales = input_scales(dens.data, vel, card)
    factor = np.random.default_rng(5).uniform(0, 2, dens.shape).astype(np.float32)
    vel = network_velocity(vel, factor, card.slider_input)
    cfg = UpresConfig(scale=scale, batch=batch, detail_blend=blend)
    streamed = _assemble(upres_blocks(dens, vel, run, card, cfg, tile, scales))
    dense = _assemble(_dense_passes(dens, vel, run, card, cfg, tile, scales))
    assert streamed[0].any()
    assert streamed[1:] == dense[1:]  # the same cores at the same places
    assert np.array_equal(streamed[0], dense[0])


def test_second_pass_memory_follows_the_tile_not_the_volume(toy_model):
    card = load_card(toy_model)
    cfg = UpresConfig(scale=8)
    dense = lambda low: np.prod(low) * card.scale ** 3 * 4  # noqa: E731 (the old intermediate)
    small = second_pass_memory_bytes((48, 48, 48), card, cfg, 16)
    large = second_pass_memory_bytes((96, 96, 96), card, cfg, 16)
    assert 0 < small < dense((48, 48, 48))
    # 8x the volume: the dense intermediate grows 8x, the streamed one by the slab it keeps
    assert large < 0.5 * dense((96, 96, 96)) and large < 8 * small
    assert second_pass_memory_bytes((48, 48, 48), card, UpresConfig(scale=4), 16) == 0
