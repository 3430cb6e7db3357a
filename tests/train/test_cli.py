"""`billow train`, `billow finetune`, `billow export` through the real CLI."""

from __future__ import annotations

import json

import pytest
from billow.cli import main

from tests.commands.cli_helpers import Result, assert_one_line_error, billow

from .conftest import make_dataset
from .test_data import _broken


@pytest.fixture
def cli(capsys):
    """The CLI in-process (a subprocess per call costs seconds of imports on 2 cores)."""

    def run(*args) -> Result:
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run

TINY = ["--width", "8", "--blocks", "1", "--mid-channels", "4", "--batch", "2", "--tile", "4",
        "--k-ds", "1", "--k-dt", "1", "--k-g", "1", "--log-every", "1", "--val-every", "0",
        "--sample-every", "0", "--tensorboard", "off", "--progress", "json"]


def test_dry_run_prints_the_resolved_config(tmp_path, data2d, cli):
    r = cli("train", "--data", data2d, "--out", tmp_path / "run", "--preset", "cpu-small",
               "--lambda-f", "-0.01", "--temporal", "l2", "--dry-run")
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    assert plan["config"]["train"]["temporal"] == "l2"  # flag beats preset
    assert plan["config"]["train"]["lambda_f"] == "-0.01"
    assert plan["config"]["train"]["iterations"] == 2000  # from the preset
    assert plan["config"]["model"]["dim"] == 2
    assert not set(plan["split"]["train"]) & set(plan["split"]["val"])
    assert not (tmp_path / "run").exists()


def test_bad_input_exits_2_with_one_line(tmp_path, data2d, cli):
    r = billow("train", "--data", tmp_path / "nope", "--out", tmp_path / "run", "--dry-run")
    assert_one_line_error(r, 2, "nope", "not found")  # the real executable, once
    bad = _broken(tmp_path, data2d, lambda root, m: m.update(dim=3))
    r = cli("train", "--data", bad, "--out", tmp_path / "run")
    assert_one_line_error(r, 2, "sim_0000.npz", "shape")
    r = cli("train", "--data", data2d, "--out", tmp_path / "run", "--dim", "3", "--dry-run",
               "--tile", "3")
    assert_one_line_error(r, 2, "--tile")
    r = cli("export", tmp_path / "nothing", "--out", tmp_path / "m.onnx")
    assert_one_line_error(r, 2, "checkpoint")
    for flag in (["--projection", "block"], ["--base-interpolation", "tricubic"],
                 ["--tail-upsampling", "smooth"], ["--lattice-notch"]):
        r = cli("train", "--data", data2d, "--out", tmp_path / "run", "--generator", "fast",
                *flag, "--dry-run")
        assert_one_line_error(r, 2, "smooth generator", "'fast'")  # not silently ignored
    r = cli("train", "--data", data2d, "--out", tmp_path / "run", "--generator", "smooth",
            "--projection", "block", "--projection-steps", "0", "--dry-run")
    assert_one_line_error(r, 2, "--projection-steps 0")
    r = cli("train", "--data", data2d, "--out", tmp_path / "run", "--generator", "smooth",
            "--lattice-notch", "--dry-run")  # the clamp form: the base can be 0 under smoke
    assert_one_line_error(r, 2, "--lattice-notch needs --output-form gain and --projection block")


def test_train_resume_export_finetune(tmp_path, data2d, cli):
    run = tmp_path / "run"
    r = cli("train", "--data", data2d, "--out", run, "--iterations", "2", *TINY)
    assert r.code == 0, r.err
    events = [json.loads(line) for line in r.out.splitlines() if line.startswith("{")]
    assert events[0]["event"] == "start" and events[-1]["event"] == "end"
    assert any("eta_s" in e for e in events)
    r = cli("train", "--data", data2d, "--out", run, "--iterations", "2", *TINY)
    assert_one_line_error(r, 2, "--resume")
    r = cli("train", "--out", run, "--resume", "--iterations", "3", "--progress", "none")
    assert r.code == 0, r.err
    assert "iteration 3" in r.out
    r = cli("train", "--out", run, "--resume", "--lr", "1")
    assert_one_line_error(r, 2, "lr")
    model = tmp_path / "models" / "tiny.onnx"
    r = cli("export", run, "--out", model)
    assert r.code == 0, r.err
    assert json.loads(model.with_suffix(".json").read_text())["training"]["iterations"] == 3
    r = cli("finetune", "--base", run, "--data", data2d, "--out", tmp_path / "ft",
               "--rr", "0.01", "--iterations", "1", "--progress", "none")
    assert r.code == 0, r.err
    cfg = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert cfg["train"]["rr"] == "local" and cfg["train"]["rr_lambda"] == 0.01
    r = cli("finetune", "--base", run, "--data", data2d, "--out", tmp_path / "ft2",
            "--width", "16")
    assert_one_line_error(r, 2, "--width")
    r = cli("finetune", "--base", model, "--data", data2d, "--out", tmp_path / "ft3",
            "--iterations", "1", "--progress", "none", "--temporal", "l2")
    assert r.code == 0, r.err  # an exported model: generator only, any temporal mode
    card = json.loads(model.with_suffix(".json").read_text())
    cfg = json.loads((tmp_path / "ft3" / "config.json").read_text())
    assert cfg["augment"] == card["training"]["augment"]  # the base run's augmentation
    assert cfg["train"]["temporal"] == "l2"
    r = cli("finetune", "--base", run, "--data", data2d, "--out", tmp_path / "ft4",
            "--tile", "8")
    assert_one_line_error(r, 2, "--tile")  # a run's discriminators fix the tile size
    r = cli("train", "--data", data2d, "--out", tmp_path / "x", "--preset", "fast-3d",
            "--dry-run")
    assert_one_line_error(r, 2, "2D", "--dim")


def test_train_and_finetune_on_two_folders(tmp_path, data2d, cli):
    """`--data A --data B`: one run over both folders; the run records both, so --resume
    needs no --data; folders of another factor are refused in one line."""
    other = make_dataset(tmp_path / "other", dim=2, sims=2, frames=4, lr=12, seed=1)
    run = tmp_path / "run"
    r = cli("train", "--data", data2d, "--data", other, "--out", run, "--iterations", "2",
            *TINY)
    assert r.code == 0, r.err
    split = json.loads((run / "split.json").read_text())
    assert split["data"]["path"] == [str(data2d.resolve()), str(other.resolve())]
    assert {s.split("/")[0] for s in split["train"] + split["val"]} == {data2d.name, "other"}
    r = cli("train", "--out", run, "--resume", "--iterations", "3", "--progress", "none")
    assert r.code == 0, r.err
    assert "iteration 3" in r.out
    r = cli("finetune", "--base", run, "--data", other, "--data", data2d, "--out",
            tmp_path / "ft", "--iterations", "1", "--progress", "none")
    assert r.code == 0, r.err
    x2 = make_dataset(tmp_path / "x2", dim=2, sims=1, frames=3, lr=12, factor=2)
    r = cli("train", "--data", data2d, "--data", x2, "--out", tmp_path / "bad", "--dry-run")
    assert_one_line_error(r, 2, "differ in factor", "x2 2")


@pytest.mark.slow
def test_torchrun_data_parallel_on_cpu(tmp_path, data2d):
    """DDP (gloo on CPU; NCCL on CUDA): two processes train one model, rank 0 writes."""
    import subprocess
    import sys

    run = tmp_path / "ddp"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "-m", "billow",
         "train", "--data", str(data2d), "--out", str(run), "--iterations", "2",
         "--device", "cpu", "--threads", "1", *TINY[:-2], "--progress", "none"],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("iteration 2") == 1  # one report, from rank 0
    assert (run / "checkpoint.pt").is_file()
