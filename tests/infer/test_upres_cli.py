"""`billow upres` end to end: farm chunks, resume after a kill, art direction, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from billow.farm import select_chunk
from billow.infer import UpresConfig, load_card, upres_sequence
from billow.infer.backends import TorchBackend
from billow.io import ReadOptions, list_grids, read_grid, read_smoke_frame
from billow.errors import EXIT_INPUT

from ..commands.cli_helpers import assert_one_line_error, billow, billow_here
from .conftest import smoke_frame
from .toy_model import ToyUpres, export_toy


def test_upres_sequence_writes_sparse_frames_with_metadata(smoke_seq, toy_model, tmp_path):
    r = billow("upres", smoke_seq, tmp_path / "out/hi.####.vdb", "--model", toy_model,
               "--frames", "2-3", "--tile", "12", "--pass-through", "", "--write-velocity",
               "--progress", "json")
    assert r.code == 0, r.err
    events = [json.loads(line) for line in r.out.splitlines()]
    assert [e["frame"] for e in events if e["event"] == "frame"] == [2, 3]
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["hi.0002.vdb", "hi.0003.vdb"]
    grids = {g.name: g for g in list_grids(tmp_path / "out/hi.0002.vdb")}
    assert set(grids) == {"density", "vel"}
    dens = grids["density"]
    assert dens.voxel_size[0] == pytest.approx(0.025)
    meta = dens.metadata
    assert meta["billow_model"] == "toy_x4" and meta["billow_scale"] == 4
    assert meta["billow_backend"] == "onnxruntime" and meta["billow_velocity_scale"] == 1.0
    vel = read_grid(tmp_path / "out/hi.0002.vdb", "vel")
    assert vel.metadata["billow_velocity_units"] == "world/s"
    assert np.abs(vel.data[..., 1]).max() == pytest.approx(2.4, rel=1e-5)


def test_chunks_cover_every_frame_once():
    frames = list(range(1, 241))
    seen = []
    for index in range(24):
        seen += select_chunk(frames, 10, index)
    assert seen == frames
    assert select_chunk(list(range(7)), 3, 2) == [6]
    with pytest.raises(Exception, match="out of range"):
        select_chunk(frames, 10, 24)


def test_chunk_via_cli(smoke_seq, toy_model, tmp_path):
    r = billow("upres", smoke_seq, tmp_path / "o/hi.####.vdb", "--model", toy_model,
               "--frames", "1-4", "--chunk", "3", "--chunk-index", "1")
    assert r.code == 0, r.err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["hi.0004.vdb"]


def test_resume_after_a_kill(tmp_path, toy_model):
    for f in range(1, 7):
        smoke_frame(tmp_path / "in" / f"s.{f:04d}.vdb", shift=0.3 * f)
    cmd = [sys.executable, "-m", "billow", "upres", str(tmp_path / "in/s.####.vdb"),
           str(tmp_path / "out/s.####.vdb"), "--model", str(toy_model), "--tile", "8",
           "--threads", "1", "--progress", "json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:  # kill right after the first frame is written
        if '"event": "frame"' in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    done = sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))
    assert 1 <= len(done) < 6
    first = tmp_path / "out" / done[0]
    stamp = first.stat().st_mtime_ns
    r = billow(*cmd[3:], "--skip-existing")
    assert r.code == 0, r.err
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    # every frame once, the temporary file of the killed frame (if any) is the only leftover
    assert [f for f in files if not f.startswith(".")] == [f"s.{f:04d}.vdb" for f in range(1, 7)]
    assert first.stat().st_mtime_ns == stamp
    events = [json.loads(line) for line in r.out.splitlines()]
    assert events[0]["total"] == 6 - len(done)


class Recorder(torch_module := __import__("torch").nn.Module):
    """Records the network inputs (to check art direction) and upsamples by nearest."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x.clone())
        return __import__("torch").nn.functional.interpolate(x[:, :1], scale_factor=4)


@pytest.mark.parametrize("mask", [None, "sphere:{x},{y},{z},0.3,0.2"])
def test_velocity_scale_and_mask_reach_the_network(tmp_path, toy_model, mask):
    path = smoke_frame(tmp_path / "in/s.0001.vdb")
    card = load_card(toy_model)
    rec = Recorder()
    frame_centre = (0.3 + 0.1 * (3 + 8), -0.2 + 0.1 * (-2 + 10), 1.0 + 0.1 * (5 + 12))
    cfg = UpresConfig(velocity_scale=2.0, tile=64,
                      mask=mask and mask.format(x=frame_centre[0], y=frame_centre[1],
                                                z=frame_centre[2]))
    upres_sequence([(1, path, tmp_path / "out/s.0001.vdb")], TorchBackend(rec), card, cfg,
                   ReadOptions(), progress_mode="none")
    x = rec.seen[0][0].numpy()  # (C, X+2h, Y+2h, Z+2h): one tile holds the whole block
    h = card.halo
    vy = x[2, h:-h, h:-h, h:-h]
    offset = np.array(read_smoke_frame(path).density.offset)
    base = 2.4 / 0.1 / 24  # 2.4 world/s in 0.1 cells at 24 fps: cells per frame
    first = tuple(np.array((3 + 8, -2 + 10, 5 + 12)) - offset)  # first blob's centre
    second = tuple(np.array((3 + 30, -2 + 12, 5 + 9)) - offset)  # outside the sphere
    assert vy[first] == pytest.approx(2 * base, rel=1e-5)
    assert vy[second] == pytest.approx((2 if mask is None else 1) * base, rel=1e-5)


@pytest.mark.parametrize("scale", [4, 8])
@pytest.mark.parametrize("mask", [None, "sphere:{x},{y},{z},0.3,0.2"])
def test_a_model_with_a_detail_input_gets_the_slider_as_that_channel(tmp_path, mask, scale):
    """Gated models take the slider (with its mask) as their `detail` channel and the velocity
    as it is, so the trunk reads the flow it was trained on; at 8x the second pass gets the
    same (its cells are finer, and so is its speed unit) and the same factor, which is not
    a speed."""
    model = export_toy(tmp_path / "m", "gated_x4", channels=5,
                       card_channels=["density", "vel.x", "vel.y", "vel.z", "detail"])
    path = smoke_frame(tmp_path / "in/s.0001.vdb")
    card = load_card(model)
    assert card.slider_input
    rec = Recorder()
    frame_centre = (0.3 + 0.1 * (3 + 8), -0.2 + 0.1 * (-2 + 10), 1.0 + 0.1 * (5 + 12))
    cfg = UpresConfig(velocity_scale=2.0, tile=128, scale=scale,
                      mask=mask and mask.format(x=frame_centre[0], y=frame_centre[1],
                                                z=frame_centre[2]))
    upres_sequence([(1, path, tmp_path / "out/s.0001.vdb")], TorchBackend(rec), card, cfg,
                   ReadOptions(), progress_mode="none")
    offset = np.array(read_smoke_frame(path).density.offset)
    base = 2.4 / 0.1 / 24  # cells per frame of the input grid
    first = np.array((3 + 8, -2 + 10, 5 + 12)) - offset  # inside the sphere
    second = np.array((3 + 30, -2 + 12, 5 + 9)) - offset  # outside it
    h = card.halo
    x = rec.seen[-1][0].numpy()  # the last pass; one tile holds the whole block
    step = scale // 4  # the last pass's cells per input cell
    assert len(rec.seen) == (1 if scale == 4 else 2)
    for cell, factor in ((first, 2.0), (second, 2.0 if mask is None else 1.0)):
        at = tuple(step * cell + step // 2 + h)
        assert x[2][at] == pytest.approx(base, rel=1e-4)  # vel.y, unscaled
        assert x[4][at] == pytest.approx(factor, rel=1e-4)


def test_same_inputs_same_output(smoke_seq, toy_model, tmp_path):
    outs = []
    for k in range(2):
        r = billow("upres", smoke_seq, tmp_path / f"o{k}/hi.####.vdb", "--model", toy_model,
                   "--frames", "1", "--velocity-scale", "1.5", "--detail-blend", "0.3")
        assert r.code == 0, r.err
        outs.append(read_grid(tmp_path / f"o{k}/hi.0001.vdb", "density").data)
    np.testing.assert_array_equal(outs[0], outs[1])


def test_out_of_memory_reduces_the_tile(tmp_path, toy_model, capsys):
    path = smoke_frame(tmp_path / "in/s.0001.vdb")
    card = load_card(toy_model)

    class Limited:
        name = "limited"

        def run(self, x):
            if x[0, 0].size > 15**3:  # 8-cell cores with a 3-cell halo are 14^3
                raise MemoryError("simulated")
            return TorchBackend(ToyUpres()).run(x)

    upres_sequence([(1, path, tmp_path / "o.vdb")], Limited(), card, UpresConfig(tile=32),
                   ReadOptions(), progress_mode="log")
    assert (tmp_path / "o.vdb").exists()
    err = capsys.readouterr().err
    assert "retrying with --tile 16" in err and "retrying with --tile 8" in err


def test_bad_inputs(tmp_path, toy_model, smoke_seq):
    out = tmp_path / "o/hi.####.vdb"
    # a model whose card and network disagree on the channels
    bad = export_toy(tmp_path / "bad", "bad_x4", channels=4,
                     card_channels=["density", "vel.x", "vel.y"])
    assert_one_line_error(billow_here("upres", smoke_seq, out, "--model", bad), EXIT_INPUT,
                          "4 channels", "lists 3")
    # no velocity grid
    from billow.io import Volume, write_vdb
    from ..conftest import blob, scaled_matrix

    write_vdb(tmp_path / "nv/s.0001.vdb", [Volume("density", blob((8, 8, 8), (4, 4, 4), 2),
                                                  (0, 0, 0), scaled_matrix(0.1))])
    assert_one_line_error(billow_here("upres", tmp_path / "nv/s.####.vdb", out, "--model", toy_model),
                          EXIT_INPUT, "no velocity grid")
    # frames with different transforms
    smoke_frame(tmp_path / "tr/s.0001.vdb")
    smoke_frame(tmp_path / "tr/s.0002.vdb", voxel=0.2)
    r = billow_here("upres", tmp_path / "tr/s.####.vdb", out, "--model", toy_model)
    assert_one_line_error(r, EXIT_INPUT, "frame 2 has a different transform from frame 1")
    # a model file that is not a model
    (tmp_path / "junk.onnx").write_text("junk")
    (tmp_path / "junk.json").write_text((toy_model.with_suffix(".json")).read_text())
    assert_one_line_error(billow_here("upres", smoke_seq, out, "--model", tmp_path / "junk.onnx"),
                          EXIT_INPUT, "cannot load ONNX model")
    assert_one_line_error(billow_here("upres", smoke_seq, out, "--model", tmp_path / "nope.onnx"),
                          EXIT_INPUT, "no such model file")
    # the shipped temporalUV model is a model, but not a smoke model
    from billow.infer.models import models_dir

    assert_one_line_error(billow_here("upres", smoke_seq, out, "--model",
                                      models_dir() / "uv_garment.onnx"), EXIT_INPUT,
                          "a uv model, not a smoke upres model")
    assert_one_line_error(billow_here("upres", smoke_seq, out, "--model", toy_model, "--device",
                                 "cuda"), EXIT_INPUT, "--device cuda")
    assert_one_line_error(billow_here("upres", smoke_seq, out, "--model", toy_model, "--mask",
                                 "cone:1,2"), EXIT_INPUT, "expected sphere:")


def test_empty_frame_is_written_empty(tmp_path, toy_model):
    from billow.io import Volume, write_vdb
    from ..conftest import scaled_matrix

    m = scaled_matrix(0.1)
    write_vdb(tmp_path / "e/s.0001.vdb", [
        Volume("density", np.zeros((4, 4, 4), np.float32), (0, 0, 0), m),
        Volume("vel", np.zeros((4, 4, 4, 3), np.float32), (0, 0, 0), m)])
    r = billow("upres", tmp_path / "e/s.####.vdb", tmp_path / "o/s.####.vdb", "--model", toy_model)
    assert r.code == 0, r.err
    assert "written as empty" in r.err
    (info,) = list_grids(tmp_path / "o/s.0001.vdb")
    assert info.name == "density" and info.active_voxels == 0


def _tree(root):
    return sorted((str(p.relative_to(root)), p.stat().st_mtime_ns) for p in root.rglob("*"))


def test_dry_run_prints_the_plan_and_writes_nothing(smoke_seq, toy_model, tmp_path):
    before = _tree(tmp_path)
    out = tmp_path / "out" / "hi.####.vdb"
    r = billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "2-3",
                    "--tile", "6", "--scale", "8", "--preview", tmp_path / "prev", "--dry-run")
    assert r.code == 0, r.err
    assert _tree(tmp_path) == before  # no output, no folder, no preview, no temporary
    card = load_card(toy_model)
    for text in (str(toy_model), "x8 in 2 pass(es)", f"halo {card.halo}", "6 cells", "GB",
                 str(smoke_seq).replace("####", "0002"), str(out).replace("####", "0003")):
        assert text in r.out, (text, r.out)
    r = billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "2-3",
                    "--tile", "6", "--dry-run", "--progress", "json")
    plan = json.loads(r.out)
    assert plan["event"] == "plan" and plan["tile"] == 6 and plan["halo"] == card.halo
    assert [f["frame"] for f in plan["frames"]] == [2, 3] and plan["to_write"] == 2
    box = plan["frames"][0]["active_box"]
    assert plan["frames"][0]["tiles"] == [int(np.prod([-(-n // 6) for n in box]))]
    assert plan["memory_bytes"]["estimate"] > plan["memory_bytes"]["network_call"] > 0
    assert _tree(tmp_path) == before


def test_dry_run_marks_finished_frames_and_still_checks_input(smoke_seq, toy_model, tmp_path):
    out = tmp_path / "out" / "hi.####.vdb"
    assert billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "2",
                       "--progress", "none").code == 0
    r = billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "2-3",
                    "--skip-existing", "--dry-run", "--progress", "json")
    assert [f["skipped"] for f in json.loads(r.out)["frames"]] == [True, False]
    r = billow_here("upres", smoke_seq, out, "--model", toy_model, "--tile", "0", "--dry-run")
    assert_one_line_error(r, EXIT_INPUT, "--tile 0")
