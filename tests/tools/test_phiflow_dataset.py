"""tools/phiflow_dataset.py: PhiFlow smoke as a `billow dataset` folder (issue 17), and its
training scene families (tools/phiflow_scenes.py), disjoint from the out-of-family benchmark.

The PhiFlow runs need PhiFlow's own Python (`/work/phiflow-venv/bin/python`, or
$BILLOW_PHIFLOW_PYTHON, as `benchmarks/ood_benchmark.py generate` uses); without it those
tests skip. The scene-family tests need numpy only."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from billow.errors import InputError
from billow.train.augment import AugmentConfig
from billow.train.data import PairedData, TileSampler

from tests.train.conftest import make_dataset

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))
import phiflow_dataset
import phiflow_scenes as S

PHIFLOW = phiflow_dataset.DEFAULT_PHIFLOW_PYTHON
needs_phiflow = pytest.mark.skipif(
    not Path(PHIFLOW).exists(),
    reason=f"PhiFlow's Python {PHIFLOW} not found (python3.11 -m venv /work/phiflow-venv && "
    "/work/phiflow-venv/bin/pip install 'numpy<2' phiflow, or set BILLOW_PHIFLOW_PYTHON)")
RES, FRAMES, SIMS = 24, 3, 2


# ----------------------------------------------------------------- scene families (numpy)


def test_scenes_are_randomised_reproducible_and_keep_off_the_benchmark_seeds():
    drawn = [S.draw("mixed", seed, index=i) for i, seed in enumerate(range(100, 112))]
    assert [d["family"] for d in drawn] == ["blobs", "plumes", "puffs"] * 4  # balanced
    assert len({json.dumps(d, sort_keys=True) for d in drawn}) == 12
    assert S.draw("mixed", 7, 1) == S.draw("mixed", 7, 1)
    assert S.draw("mixed", 7) == S.draw("mixed", 7)
    for d in drawn:  # every noise seed far from the benchmark's 5000-5403
        text = json.dumps(d)
        assert all(s["seed"] >= 10 ** 6 for s in _noise_specs(d)), text
    for seed in (5000, 5100, 5303):
        with pytest.raises(ValueError, match="benchmark"):
            S.draw("plumes", seed)


def _noise_specs(params: dict) -> list[dict]:
    out = [params["flow"]]
    for b in params["blobs"]:
        out.append(b["noise"])
    for s in params["inflows"]:
        out += [s["noise"], s["noise_b"]]
    return out


def test_scenes_never_use_the_benchmarks_generators(monkeypatch):
    """The benchmark's PhiFlow scenes are `dense_block` and `wisp_sheets` fields; training
    scenes are built without them, at high and low resolution alike."""
    import ood_fields

    def refuse(*a, **k):
        raise AssertionError("a benchmark generator was used")

    monkeypatch.setattr(ood_fields, "dense_block", refuse)
    monkeypatch.setattr(ood_fields, "wisp_sheets", refuse)
    for seed in range(6):
        params = S.draw("mixed", seed)
        hr = S.setup(params, 16, 4, "hr")
        lr = S.setup(params, 16, 4, "lr")
        assert hr.density.shape == (16,) * 3 and lr.density.shape == (4,) * 3
        assert 0 <= hr.density.min() and hr.density.max() <= 1
        # the low-res run starts from the high-res scene, box-averaged; speeds in its cells
        assert np.allclose(lr.density, hr.density.reshape(4, 4, 4, 4, 4, 4).mean((1, 3, 5)),
                           atol=1e-6)
        assert np.allclose(lr.velocity * 4,
                           hr.velocity.reshape(3, 4, 4, 4, 4, 4, 4).mean((2, 4, 6)), atol=1e-5)
        assert lr.buoyancy == pytest.approx(hr.buoyancy / 4)
        assert len(lr.obstacles) == len(hr.obstacles) == len(params["obstacles"])


def test_seeds_in_the_benchmark_range_are_refused():
    a = phiflow_dataset.parser().parse_args(["--out", "x", "--sims", "1", "--seed", "0"])
    a.family = "mixed"
    phiflow_dataset.entries(a)  # sim seed 17: fine
    from billow.sim import dataset

    # the base seed whose first sim gets the PhiFlow benchmark's seed 5100
    a.seed = (5100 - 17) * pow(1_000_003, -1, 2 ** 31) % 2 ** 31
    assert dataset.sim_seed(a.seed, 0) == 5100
    with pytest.raises(InputError, match="benchmark"):
        phiflow_dataset.entries(a)


# ----------------------------------------------------------------- PhiFlow runs


@pytest.fixture(scope="session")
def phi_data(tmp_path_factory) -> Path:
    if not Path(PHIFLOW).exists():
        pytest.skip(f"PhiFlow's Python {PHIFLOW} not found")
    out = tmp_path_factory.mktemp("phi") / "phi"
    code = phiflow_dataset.main(["--out", str(out), "--sims", str(SIMS), "--res", str(RES),
                                 "--frames", str(FRAMES), "--lr-box", "--lr-sim",
                                 "--phiflow-python", PHIFLOW, "--progress", "none"])
    assert code == 0
    return out


@pytest.fixture(scope="session")
def billow_data(tmp_path_factory) -> Path:
    """The same sizes from `billow dataset` (billow's solver), for the format comparison."""
    from billow._native import native_available
    from billow.sim.dataset import DatasetConfig, generate

    if not native_available():
        pytest.skip("billow._kernels is not built (pip install -e .)")
    out = tmp_path_factory.mktemp("billow") / "mixed"
    generate(DatasetConfig(sims=SIMS, res=RES, frames=FRAMES, lr_sim=True, lr_box=True,
                           scenes="mixed"), out, progress="none")
    return out


@needs_phiflow
def test_the_folder_is_what_billow_dataset_writes(phi_data, billow_data):
    phi = json.loads((phi_data / "manifest.json").read_text())
    ref = json.loads((billow_data / "manifest.json").read_text())
    assert set(phi) == set(ref)
    for key in ("format", "dim", "factor", "hr_res", "lr_res", "frames", "dt", "blur_sigma",
                "units", "up_axis", "fps"):
        assert phi[key] == ref[key], key
    assert set(phi["settings"]) == set(ref["settings"]) == {"lr_sim", "lr_box", "solver",
                                                            "pressure"}
    assert phi["scenes"] == "phiflow/mixed" and phi["settings"]["solver"]["name"] == "phiflow"
    assert [set(e) for e in phi["sims"]] == [set(e) for e in ref["sims"]]
    assert [e["seed"] for e in phi["sims"]] == [e["seed"] for e in ref["sims"]]
    for i in range(SIMS):
        with np.load(phi_data / f"sim_{i:04d}.npz") as z, \
                np.load(billow_data / f"sim_{i:04d}.npz") as r:
            assert z.files == r.files
            for k in r.files:
                assert z[k].dtype == r[k].dtype == np.float16, k
                assert z[k].shape == r[k].shape, k
            hr_d = torch.from_numpy(z["hr_density"].astype(np.float32))
            hr_v = torch.from_numpy(z["hr_velocity"].astype(np.float32))
            assert float(hr_d.max()) > 0.05  # smoke is there
            # the low-res inputs are billow's derivations of the high-res frames
            from billow.ops import downsample, downsample_velocity

            lr = downsample(hr_d[:, None], 4)[:, 0]
            assert np.allclose(z["lr_density"], lr.numpy(), atol=2e-3)
            assert np.allclose(z["lr_velocity"], downsample_velocity(hr_v, 4).numpy(),
                               atol=4e-3)
            box = torch.nn.functional.avg_pool3d(hr_d[:, None], 4)[:, 0]
            assert np.allclose(z["lr_box_density"], box.numpy(), atol=2e-3)
            # the independent low-res simulation is the same scene
            a, b = (z[k].astype(np.float32).ravel() for k in ("lr_density", "lr_sim_density"))
            assert np.corrcoef(a, b)[0, 1] > 0.8
    assert not (phi_data / phiflow_dataset.RAW).exists()  # scratch removed


@needs_phiflow
def test_the_folder_yields_tiles_and_resumes(phi_data, capsys):
    data = PairedData(phi_data)
    assert data.dim == 3 and data.lr_res == (6, 6, 6) and len(data.sims) == SIMS
    assert all(s.has_box for s in data.sims.values())
    aug = AugmentConfig(min_density=1e-3, box_input=0.5)
    lr, hr, sc = TileSampler(data, sorted(data.sims), 2, 1, aug,
                             torch.Generator().manual_seed(0)).sample(4, scales=True)
    assert lr.shape == (4, 3, 4, 4, 4, 4) and hr.shape == (4, 3, 1, 16, 16, 16)
    assert torch.isfinite(lr).all() and torch.isfinite(sc).all() and float(hr.max()) > 0
    # a second run finds every sim complete; other settings into the same folder are refused
    args = ["--out", str(phi_data), "--sims", str(SIMS), "--res", str(RES), "--frames",
            str(FRAMES), "--lr-box", "--lr-sim", "--phiflow-python", PHIFLOW, "--progress",
            "none"]
    assert phiflow_dataset.main(args) == 0
    assert "0 sims written, 2 already there" in capsys.readouterr().out
    assert phiflow_dataset.main([*args, "--family", "blobs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "other settings" in err[0] and "scenes" in err[0]


@needs_phiflow
def test_trains_together_with_a_billow_folder(tmp_path, phi_data, billow_data, capsys):
    from billow.cli import main

    run = tmp_path / "run"
    code = main(["train", "--data", str(billow_data), "--data", str(phi_data), "--out",
                 str(run), "--iterations", "2", "--dim", "3", "--tile", "2", "--context", "1",
                 "--batch", "1", "--min-density", "0", "--width", "8", "--blocks", "1",
                 "--mid-channels", "4", "--k-ds", "1", "--k-dt", "1", "--k-g", "1",
                 "--log-every", "1", "--val-every", "0", "--sample-every", "0",
                 "--tensorboard", "off", "--progress", "none"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "iteration 2" in out.out
    split = json.loads((run / "split.json").read_text())
    assert {s.split("/")[0] for s in split["data"]["sims"]} == {"mixed", "phi"}
    # a folder of another factor is refused in one line
    x2 = make_dataset(tmp_path / "x2", dim=3, sims=1, frames=3, lr=6, factor=2)
    with pytest.raises(InputError, match="differ in factor") as e:
        PairedData([phi_data, x2])
    assert "\n" not in str(e.value)
