"""Paired training data: the low-res derivation, the file format, resuming, loading."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from billow.errors import InputError
from billow.io.pairs import FORMAT, load_pairs
from billow.sim.dataset import DatasetConfig, _derive_low, generate, is_complete

from .conftest import needs_native


def smooth(n: int, coords) -> torch.Tensor:
    """A band-limited field (wavelength = whole domain) evaluated at high-res indices."""
    grids = torch.meshgrid(*[torch.as_tensor(c, dtype=torch.float64) for c in coords],
                           indexing="ij")
    f = 1.0
    for g in grids:
        f = f * torch.cos(2 * math.pi * (g + 0.5) / n)
    return 0.5 + 0.4 * f


@pytest.mark.parametrize("dim", [2, 3])
def test_low_res_derivation_reproduces_a_smooth_field(dim):
    """Blur + sampling at the low-res cell centres gives the smooth field's values there:
    low-res cell i sits at high-res index f i + (f - 1) / 2."""
    n, f = 64, 4
    hr = smooth(n, [torch.arange(n)] * dim).float()
    vel = torch.stack([hr * (d + 1) for d in range(dim)])
    lr_d, lr_v = _derive_low(hr, vel, f)
    centres = torch.arange(n // f) * f + (f - 1) / 2
    want = smooth(n, [centres] * dim).float()
    err = (lr_d - want).abs().max() / (want.max() - want.min())
    assert err < 0.02  # the blur (sigma 1.13 cells) barely touches a 64-cell wavelength
    # velocity: high-res cells/frame -> low-res cells/frame is a division by the factor
    for d in range(dim):
        torch.testing.assert_close(lr_v[d], lr_d * (d + 1) / f, rtol=1e-5, atol=1e-6)


def test_config_validation():
    with pytest.raises(InputError, match="does not divide"):
        DatasetConfig(res=30, factor=4).validate()
    with pytest.raises(InputError, match="low-res grid"):
        DatasetConfig(res=8, factor=4).validate()
    with pytest.raises(InputError):
        DatasetConfig(sims=0).validate()


@needs_native
def test_dataset_files_resume_and_load(tmp_path):
    cfg = DatasetConfig(sims=2, res=16, factor=4, frames=3, dim=2, seed=5, lr_sim=True)
    out = tmp_path / "data"
    stats = generate(cfg, out, progress="none")
    assert stats == {"written": 2, "skipped": 0}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == FORMAT and manifest["dim"] == 2 and manifest["factor"] == 4
    assert manifest["hr_res"] == [16, 16] and manifest["lr_res"] == [4, 4]
    assert manifest["frames"] == 3 and manifest["up_axis"] == "y" and manifest["dt"] == 1.0
    assert [s["id"] for s in manifest["sims"]] == ["sim_0000", "sim_0001"]
    assert manifest["sims"][0]["seed"] != manifest["sims"][1]["seed"]
    assert manifest["sims"][0]["scene"]["density_sources"]
    with np.load(out / "sim_0000.npz") as z:
        assert z["hr_density"].shape == (3, 16, 16) and z["hr_density"].dtype == np.float16
        assert z["hr_velocity"].shape == (3, 2, 16, 16)
        assert z["lr_density"].shape == (3, 4, 4)
        assert z["lr_velocity"].shape == (3, 2, 4, 4)
        assert z["lr_sim_density"].shape == (3, 4, 4)
        assert float(z["hr_density"].max()) > 0.1
    # resume: complete sims are skipped, untouched; more sims extend the set
    mtime = (out / "sim_0000.npz").stat().st_mtime_ns
    cfg3 = DatasetConfig(sims=3, res=16, factor=4, frames=3, dim=2, seed=5, lr_sim=True)
    assert generate(cfg3, out, progress="none") == {"written": 1, "skipped": 2}
    assert (out / "sim_0000.npz").stat().st_mtime_ns == mtime
    # a truncated file is not complete and gets redone
    (out / "sim_0002.npz").write_bytes(b"garbage")
    assert not is_complete(out / "sim_0002.npz", cfg3)
    assert generate(cfg3, out, progress="none") == {"written": 1, "skipped": 2}
    manifest, sims = load_pairs(out)
    assert len(sims) == 3 and sims[2]["id"] == "sim_0002"
    assert sims[0]["hr_density"].dtype == np.float16
    assert set(sims[0]) >= {"id", "seed", "hr_density", "lr_velocity", "lr_sim_velocity"}
    _, (one,) = load_pairs(out, sims=["sim_0001"], dtype=np.float32)
    assert one["lr_velocity"].dtype == np.float32 and one["lr_velocity"].shape == (3, 2, 4, 4)
    # other settings in the same folder are refused
    with pytest.raises(InputError, match="other settings"):
        generate(DatasetConfig(sims=2, res=32, factor=4, frames=3, dim=2, seed=5), out,
                 progress="none")


def test_scene_families(tmp_path):
    from billow.sim.scenes import random_scene

    assert random_scene(11, 2).to_dict() == random_scene(11, 2, "random").to_dict()
    for seed in range(5):
        assert random_scene(seed, 3, "obstacle").obstacles
        jet = random_scene(seed, 3, "jet")
        assert len(jet.velocity_sources) == len(jet.density_sources)
        assert all(abs(v.velocity[0]) >= 0.5 for v in jet.velocity_sources)
    with pytest.raises(InputError, match="scene family"):
        random_scene(0, 2, "fire")
    out = tmp_path / "obst"
    generate(DatasetConfig(sims=1, res=16, factor=4, frames=2, dim=2, scenes="obstacle"), out,
             progress="none")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenes"] == "obstacle" and manifest["sims"][0]["scene"]["obstacles"]
    with pytest.raises(InputError, match="scenes"):  # same folder, other family: refused
        generate(DatasetConfig(sims=1, res=16, factor=4, frames=2, dim=2), out, progress="none")


def test_mixed_family_spans_amplitudes_speeds_and_kinds():
    """The broad training family: reproducible per seed, JSON round trip, and it really spans
    thin to saturated inflows, still to fast sources, with and without obstacles/buoyancy."""
    from billow.sim.scenes import Scene, random_scene

    scenes = [random_scene(s, 3, "mixed") for s in range(60)]
    assert random_scene(7, 3, "mixed").to_dict() == scenes[7].to_dict()
    assert Scene.from_dict(scenes[3].to_dict()).to_dict() == scenes[3].to_dict()
    kinds = {s.name.split("_")[1] for s in scenes}
    assert kinds == {"random", "obstacle", "jet", "broad"}
    values = [d.value for s in scenes for d in s.density_sources]
    assert min(values) < 0.1 and max(values) > 0.7
    speeds = [math.hypot(*v.velocity) for s in scenes for v in s.velocity_sources]
    assert min(speeds) < 0.05 and max(speeds) > 0.8
    assert any(s.obstacles for s in scenes) and not all(s.obstacles for s in scenes)
    assert any(s.buoyancy == (0.0, 0.0, 0.0) for s in scenes)


def test_box_derivation_conserves_mass(tmp_path):
    out = tmp_path / "box"
    generate(DatasetConfig(sims=1, res=16, factor=4, frames=3, dim=2, lr_box=True,
                           scenes="mixed", seed=3), out, progress="none")
    cfg = DatasetConfig(sims=1, res=16, factor=4, frames=3, dim=2, lr_box=True,
                        scenes="mixed", seed=3)
    assert is_complete(out / "sim_0000.npz", cfg)
    _, sims = load_pairs(out, dtype=np.float64)
    s = sims[0]
    assert s["lr_box_density"].shape == s["lr_density"].shape
    # each low-res cell is the mean of its 4x4 high-res cells: total mass x 16 is preserved
    np.testing.assert_allclose(s["lr_box_density"].sum(axis=(1, 2)) * 16,
                               s["hr_density"].sum(axis=(1, 2)), rtol=2e-3)
