"""The paired-data reader, the split by simulation and the tile sampler."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from billow.errors import InputError
from billow.train.augment import AugmentConfig
from billow.train.data import PairedData, TileSampler

from .conftest import make_dataset


def test_reads_manifest_and_splits_by_simulation(data2d):
    data = PairedData(data2d)
    assert data.dim == 2 and data.lr_res == (20, 20) and len(data.sims) == 3
    train, val = data.split(0.2, seed=0)
    assert len(val) == 1 and not set(train) & set(val)
    assert sorted(train + val) == sorted(data.sims)
    assert data.split(0.2, seed=0) == (train, val)


def _broken(tmp_path, data2d, edit):
    root = tmp_path / "broken"
    shutil.copytree(data2d, root)
    manifest = json.loads((root / "manifest.json").read_text())
    edit(root, manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.mark.parametrize("edit, fragment", [
    (lambda r, m: m.update(dim=3), "shape"),
    (lambda r, m: m.update(factor=2), "factor 2"),
    (lambda r, m: m.update(format="other/1"), "format"),
    (lambda r, m: m.update(hr_res=64), "hr_res"),
    (lambda r, m: (r / "sim_0001.npz").unlink(), "missing"),
    (lambda r, m: m.update(sims=[]), "no simulations"),
])
def test_mismatched_manifest_is_an_input_error(tmp_path, data2d, edit, fragment):
    with pytest.raises(InputError, match=fragment):
        PairedData(_broken(tmp_path, data2d, edit))


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="not found"):
        PairedData(tmp_path / "nope")


def test_sampler_shapes_and_context(data2d):
    data = PairedData(data2d)
    s = TileSampler(data, ["sim_0000"], tile=4, context=2, augment=AugmentConfig(),
                    generator=torch.Generator().manual_seed(0))
    lr, hr = s.sample(3)
    assert lr.shape == (3, 3, 3, 8, 8) and hr.shape == (3, 3, 1, 32, 32)
    assert (lr[:, 1, 0, 2:-2, 2:-2].mean(dim=(1, 2)) >= 0.02).all()
    # deterministic for a generator state
    again = TileSampler(data, ["sim_0000"], 4, 2, AugmentConfig(),
                        torch.Generator().manual_seed(0)).sample(3)
    assert torch.equal(again[0], lr) and torch.equal(again[1], hr)


def test_unaugmented_tiles_are_exact_crops(data2d):
    data = PairedData(data2d)
    s = TileSampler(data, ["sim_0002"], 4, 1, AugmentConfig(augment=False),
                    torch.Generator().manual_seed(5))
    lr, hr = s.sample(1)
    sim = {k: torch.from_numpy(np.asarray(v, np.float32))
           for k, v in data.load("sim_0002").items()}
    frames = sim["lr_density"]
    # find the crop: the tile must appear verbatim in the low-res frames
    found = False
    for t in range(1, frames.shape[0] - 1):
        for i in range(15):
            for j in range(15):
                if torch.allclose(frames[t, i:i + 6, j:j + 6], lr[0, 1, 0], atol=1e-6):
                    found = True
                    assert torch.allclose(sim["hr_density"][t, 4 * i:4 * i + 24,
                                                             4 * j:4 * j + 24],
                                          hr[0, 1, 0], atol=1e-6)
    assert found


@pytest.mark.parametrize("wall", [0.0, 1.0])
def test_wall_tiles_reach_past_the_domain_with_zeros_there(data2d, wall):
    """--wall-tiles: tiles may reach past the domain walls and read zeros there, low-res
    density, velocity and the high-res reference alike, as tiled inference pads a cache;
    without it every tile stays inside (this data's density is >= 0.05 everywhere, so a zero
    can only come from beyond a wall)."""
    data = PairedData(data2d)
    s = TileSampler(data, ["sim_0000", "sim_0001"], 4, 2,
                    AugmentConfig(augment=False, wall_tiles=wall),
                    torch.Generator().manual_seed(3))
    lr, hr = s.sample(40)
    # (N, 3, 8, 8) low-res cells beyond a wall; "empty" up to grid_sample's float rounding of
    # whole-cell positions (up to 1e-5 of a neighbour's value; the data is >= 0.05)
    empty = lr[:, :, 0].abs() < 1e-4
    if wall == 0.0:
        assert not empty.any()
        return
    assert empty.any(dim=(1, 2, 3)).float().mean() > 0.3
    assert not empty.all(dim=(2, 3)).any()  # never a tile wholly outside
    assert (lr[:, :, 1:].abs() < 1e-4)[empty.unsqueeze(2).expand_as(lr[:, :, 1:])].all()
    up = empty.repeat_interleave(4, -2).repeat_interleave(4, -1)
    assert torch.equal(up, hr[:, :, 0].abs() < 1e-4)  # the reference is empty exactly there
    # beyond a wall means a whole slab at the tile's edge, never a hole inside it
    rows, cols = empty.all(dim=-1), empty.all(dim=-2)
    assert torch.equal(empty, rows.unsqueeze(-1) | cols.unsqueeze(-2))


def test_dense_tiles_lie_inside_dense_smoke(data2d):
    """--dense-tiles 1: every tile's low-res core mean is at least DENSE_LEVEL x its frame's
    density scale s_d; without it some tiles fall below (this data has thin regions), so the
    option changes which tiles are drawn, not just a threshold nobody reaches."""
    from billow.train.data import DENSE_LEVEL

    data = PairedData(data2d)
    ids = ["sim_0000", "sim_0001"]
    s_d = min(float(data.frame_scales(sid)[:, 0].min()) for sid in ids)

    def cores(dense):
        s = TileSampler(data, ids, 4, 2, AugmentConfig(augment=False, dense_tiles=dense),
                        torch.Generator().manual_seed(4))
        lr, _ = s.sample(40)
        return lr[:, 1, 0, 2:-2, 2:-2].mean(dim=(1, 2))

    assert (cores(1.0) >= DENSE_LEVEL * s_d).all()
    dense_frames = [float(data.frame_scales(sid)[:, 0].max()) for sid in ids]
    assert (cores(0.0) < DENSE_LEVEL * max(dense_frames)).any()


def test_empty_tiles_are_rejected_without_fallback(tmp_path):
    root = make_dataset(tmp_path / "empty", dim=2, sims=1, frames=3, lr=12)
    data = PairedData(root)
    s = TileSampler(data, ["sim_0000"], 4, 1, AugmentConfig(min_density=1e6),
                    torch.Generator().manual_seed(0), max_tries=20)
    with pytest.raises(InputError, match="mean density"):
        s.sample(1)


def test_simulations_are_memory_mapped_once(data2d):
    data = PairedData(data2d)
    arrays = data.load("sim_0001")
    assert isinstance(arrays["hr_density"], np.memmap)
    assert arrays["hr_density"].dtype == np.float16
    stamp = (data2d / ".billow-cache" / "sim_0001" / "stamp").read_text()
    again = PairedData(data2d).load("sim_0001")  # reuses the decompressed cache
    assert (data2d / ".billow-cache" / "sim_0001" / "stamp").read_text() == stamp
    assert np.array_equal(again["lr_velocity"], arrays["lr_velocity"])


def test_sampler_scales_match_whole_frame_normalisation(tmp_path):
    """The scales a training tile carries are those `billow upres` computes on the whole
    frame, times the tile's amplitude factor (s_d) and zoom (s_v)."""
    from billow.ops.normalise import frame_scales

    data = PairedData(make_dataset(tmp_path / "d", dim=2, sims=1, frames=4))
    plain = AugmentConfig(augment=False, min_density=0.0)
    lr, _hr, sc = TileSampler(data, ["sim_0000"], 8, 2, plain, torch.Generator().manual_seed(0)
                             ).sample(3, scales=True)
    assert sc.shape == (3, 3, 2)
    sim = data.load("sim_0000")
    table = data.frame_scales("sim_0000")
    for t in range(4):
        ref = frame_scales(np.asarray(sim["lr_density"][t], np.float32),
                           np.moveaxis(np.asarray(sim["lr_velocity"][t], np.float32), 0, -1))
        assert table[t] == pytest.approx(ref, rel=1e-6)
    # unaugmented: every tile's scales are a row triple of the table
    rows = {tuple(np.round(r, 6)) for r in table}
    assert all(tuple(np.round(r, 6)) in rows for r in sc.reshape(-1, 2).double().numpy())
    amp = AugmentConfig(min_density=0.0, amplitude_min=0.1, amplitude_max=10.0, lossless=True)
    lr2, _hr2, sc2 = TileSampler(data, ["sim_0000"], 8, 2, amp,
                                torch.Generator().manual_seed(1)).sample(4, scales=True)
    # s_d follows the amplitude factor: density / s_d stays within the table's range
    ratio = (lr2[:, :, 0].amax(dim=(2, 3)) / sc2[..., 0]).numpy()
    plain_ratio = (lr[:, :, 0].amax(dim=(2, 3)) / sc[..., 0]).numpy()
    assert ratio.max() < 3 * plain_ratio.max() and ratio.min() > plain_ratio.min() / 3


# ----------------------------------------------------------------- several folders together


def test_several_folders_pool_their_simulations(tmp_path, data2d):
    """`--data A --data B`: ids FOLDER/sim_NNNN, a split per folder, tiles from both folders
    even when their low-res sizes differ; one folder in a list is that folder."""
    other = make_dataset(tmp_path / "other", dim=2, sims=2, frames=4, lr=12, seed=1)
    data = PairedData([data2d, other])
    a = data2d.name
    assert sorted(data.sims) == sorted([f"{a}/sim_0000", f"{a}/sim_0001", f"{a}/sim_0002",
                                        "other/sim_0000", "other/sim_0001"])
    assert data.lr_res == (12, 12) and data.sims["other/sim_0000"].lr_res == (12, 12)
    assert data.sims[f"{a}/sim_0000"].lr_res == (20, 20)
    train, val = data.split(0.3, seed=0)
    assert {v.split("/")[0] for v in val} == {a, "other"}  # each folder gives validation
    assert sorted(train + val) == sorted(data.sims)
    described = data.describe()
    assert described["path"] == [str(data2d.resolve()), str(other.resolve())]
    assert [f["sims"] for f in described["folders"]] == [3, 2]
    s = TileSampler(data, train, 4, 2, AugmentConfig(), torch.Generator().manual_seed(0))
    lr, hr = s.sample(24)
    assert lr.shape == (24, 3, 3, 8, 8) and hr.shape == (24, 3, 1, 32, 32)
    assert {sid.split("/")[0] for sid in data._maps} == {a, "other"}
    # each folder decompresses into its own cache
    assert (other / ".billow-cache").is_dir()
    # a single folder given as a list is read exactly as before
    one = PairedData([data2d])
    assert sorted(one.sims) == sorted(PairedData(data2d).sims)
    assert one.describe() == PairedData(data2d).describe()
    assert one.split(0.2, 0) == PairedData(data2d).split(0.2, 0)


def test_folders_with_the_same_name_get_distinct_ids(tmp_path):
    a = make_dataset(tmp_path / "a" / "data", dim=2, sims=1, frames=3, lr=12)
    b = make_dataset(tmp_path / "b" / "data", dim=2, sims=1, frames=3, lr=12, seed=1)
    assert sorted(PairedData([a, b]).sims) == ["0-data/sim_0000", "1-data/sim_0000"]


@pytest.mark.parametrize("kw, what", [({"factor": 2}, "factor"), ({"dim": 3, "lr": 6},
                                                                  "dimension")])
def test_folders_of_another_factor_or_dimension_are_refused(tmp_path, data2d, kw, what):
    other = make_dataset(tmp_path / "other", **{"dim": 2, "sims": 1, "frames": 3, "lr": 12,
                                                **kw})
    with pytest.raises(InputError) as e:
        PairedData([data2d, other])
    msg = str(e.value)
    assert "\n" not in msg and f"differ in {what}" in msg
    assert str(data2d) in msg and str(other) in msg
