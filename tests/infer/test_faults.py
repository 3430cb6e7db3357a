"""Fault injection (issue 16): full disks, kills, in-place outputs, hostile and lying model cards,
far-apart voxels, unreadable inputs, implausible data. Real CLI subprocesses where the fault
needs a process (file size limits, signals, capabilities), in-process runs otherwise; small
sizes throughout. docs/guarantees.md lists what these tests hold the engine to."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from billow.errors import EXIT_INPUT, EXIT_OUTPUT, EXIT_TERMINATED
from billow.io import read_grid
from billow.io.openvdb_module import openvdb
from billow.io.vdb import vdb_complete

from ..commands.cli_helpers import assert_one_line_error, billow_here
from .conftest import smoke_frame

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def env() -> dict:
    return {**os.environ, "PYTHONPATH": f"{ENGINE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def cli(*args, cwd, preexec=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "billow", *map(str, args)], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=timeout, preexec_fn=preexec)


def file_limit(nbytes: int):
    def pre():
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return pre


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp-*"))


def only_error_line(stderr: str, code_fragment: str, after_work: bool = False) -> str:
    """stderr is one `billow ...: error:` line and nothing else (no traceback, no nanobind).
    `after_work`: the run wrote frames before it failed, so the warnings of that work (the
    preview-model note, given once the first frame is written) may come first."""
    lines = [ln for ln in stderr.strip().splitlines()
             if ln.strip() and not (after_work and ln.startswith("warning: model "))]
    assert len(lines) == 1 and ": error: " in lines[0], stderr
    assert code_fragment in lines[0], lines[0]
    return lines[0]


# 1. full disk ---------------------------------------------------------------------------------

def test_full_disk_never_replaces_a_finished_frame(tmp_path, smoke_seq):
    out = tmp_path / "c/s.####.vdb"
    first = cli("convert", smoke_seq, out, "--frames", "1-2", "--progress", "none", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    good = {f: (tmp_path / f"c/s.{f:04d}.vdb").read_bytes() for f in (1, 2)}
    size = min(len(b) for b in good.values())
    r = cli("convert", smoke_seq, out, "--frames", "1-2", "--progress", "none", cwd=tmp_path,
            preexec=file_limit(size // 3))
    assert r.returncode == EXIT_OUTPUT
    only_error_line(r.stderr, "short write")
    for f, data in good.items():
        assert (tmp_path / f"c/s.{f:04d}.vdb").read_bytes() == data
    assert temporaries(tmp_path / "c") == []


def test_skip_existing_redoes_damaged_frames(tmp_path, toy_model, smoke_seq):
    out = tmp_path / "o/hi.####.vdb"
    assert billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "1-3").code == 0
    p1, p2, p3 = (tmp_path / f"o/hi.{f:04d}.vdb" for f in (1, 2, 3))
    kept = p3.stat().st_mtime_ns
    p1.write_bytes(p1.read_bytes()[: p1.stat().st_size // 2])  # what a full disk leaves
    p2.write_bytes(b"")
    assert vdb_complete(p1) and vdb_complete(p2)
    r = billow_here("upres", smoke_seq, out, "--model", toy_model, "--frames", "1-3",
                    "--skip-existing")
    assert r.code == 0, r.err
    assert "truncated" in r.err and "upres'ing that frame again" in r.err
    assert vdb_complete(p1) is None and vdb_complete(p2) is None
    assert p3.stat().st_mtime_ns == kept  # complete frames are left alone


def test_sim_full_disk_then_resume(tmp_path):
    args = ("sim", "--res", "8", "--frames", "2", "--out", "s/smoke.####.vdb", "--progress", "none")
    r = cli(*args, cwd=tmp_path, preexec=file_limit(4000))
    assert r.returncode == EXIT_OUTPUT
    only_error_line(r.stderr, "disk full")
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert all(vdb_complete(tmp_path / f"s/smoke.{f:04d}.vdb") is None for f in (1, 2))
    assert temporaries(tmp_path / "s") == []


# 2. output = input ----------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["upres", "convert", "baseline"])
def test_output_resolving_to_the_input_is_refused(tmp_path, toy_model, smoke_seq, command,
                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "in/smoke.0001.vdb").read_bytes()
    extra = ("--model", toy_model) if command == "upres" else ()
    r = billow_here(command, "in/smoke.####.vdb", "./in/../in/smoke.$F4.vdb", *extra)
    assert_one_line_error(r, EXIT_INPUT, "the output is the input file")
    assert (tmp_path / "in/smoke.0001.vdb").read_bytes() == before


# 3./4. model cards ----------------------------------------------------------------------------

def card_variant(tmp_path, toy_model, change, name="variant"):
    folder = tmp_path / "models"
    folder.mkdir(exist_ok=True)
    shutil.copy(toy_model, folder / f"{name}.onnx")
    shutil.copy(toy_model.with_suffix(".pt"), folder / f"{name}.pt")
    card = json.loads(toy_model.with_suffix(".json").read_text())
    card["torch"]["weights"] = f"{name}.pt"
    card = change(card) or card
    (folder / f"{name}.json").write_text(json.dumps(card))
    return folder / f"{name}.onnx"


def test_a_card_never_runs_code(tmp_path, toy_model, smoke_seq):
    marker = tmp_path / "ran"

    def hostile(card):
        card["torch"] = {"module": "os:system", "kwargs": {"command": f"touch {marker}"},
                         "weights": "variant.pt"}
    model = card_variant(tmp_path, toy_model, hostile)
    r = billow_here("upres", smoke_seq, tmp_path / "o/x.####.vdb", "--model", model,
                    "--backend", "torch")
    assert_one_line_error(r, EXIT_INPUT, "not one of billow's architectures")
    assert not marker.exists()
    # a registered architecture with fields that are not its own is refused too
    model = card_variant(tmp_path, toy_model, lambda c: c.update(torch={
        "module": "billow.nets.generators:generator_from_kwargs",
        "kwargs": {"generator": "fast", "dim": 3, "width": "64; rm -rf /"}, "weights": "v.pt"}))
    r = billow_here("upres", smoke_seq, tmp_path / "o/x.####.vdb", "--model", model,
                    "--backend", "torch")
    assert_one_line_error(r, EXIT_INPUT, "torch.kwargs.width")


@pytest.mark.parametrize("change, fragment", [
    (lambda c: c.update(scale=2), "scale 2 in the card, but the network upsamples by 4"),
    (lambda c: c.update(halo=0), "halo 0 in the card, but the network reaches at least 3"),
    (lambda c: c.update(halo=2), "reaches at least 3"),
    (lambda c: c.update(inputs=["density", "vel.y", "vel.x", "vel.z"]), "not in the order"),
    (lambda c: c.update(normalisation=None), "'normalisation' is null"),
    (lambda c: c.update(halo="3"), "'halo'"),
    (lambda c: [1, 2], "must be a JSON object, not list"),
])
def test_a_lying_or_broken_card_is_refused(tmp_path, toy_model, smoke_seq, change, fragment):
    model = card_variant(tmp_path, toy_model, change)
    r = billow_here("upres", smoke_seq, tmp_path / "o/x.####.vdb", "--model", model)
    assert_one_line_error(r, EXIT_INPUT, fragment)
    assert not (tmp_path / "o").exists()


def test_the_honest_card_passes_the_probe(toy_model):
    """The measured receptive radius of the toy network is its true one (3), so the probe
    would catch any halo below it and accepts the card's."""
    from billow.infer import load_card
    from billow.infer.backends import OnnxBackend
    from billow.infer.card_check import probe
    import dataclasses

    card = load_card(toy_model)
    backend = OnnxBackend(card.path, card)
    assert probe(card, backend.run) == ""
    assert "at least 3" in probe(dataclasses.replace(card, halo=2), backend.run)


def test_torch_weights_failures_are_one_line(tmp_path, smoke_seq):
    from billow.infer.models import models_dir

    shipped = models_dir() / "smoke2d_x4.onnx"
    if not shipped.exists():
        pytest.skip(f"{shipped} is not shipped")
    card = json.loads(shipped.with_suffix(".json").read_text())
    for name, weights, fragment in (("junk", b"not a checkpoint" * 8, "UnpicklingError"),
                                    ("other", None, "do not fit the card's architecture")):
        c = json.loads(json.dumps(card))
        c["torch"]["weights"] = f"{name}.pt"
        if weights is None:  # real weights of another width
            c["torch"]["kwargs"]["width"] = 16
            shutil.copy(shipped.with_suffix(".pt"), tmp_path / f"{name}.pt")
        else:
            (tmp_path / f"{name}.pt").write_bytes(weights)
        shutil.copy(shipped, tmp_path / f"{name}.onnx")
        (tmp_path / f"{name}.json").write_text(json.dumps(c))
        r = billow_here("upres", smoke_seq, tmp_path / "o/x.####.vdb", "--model",
                        tmp_path / f"{name}.onnx", "--backend", "torch")
        assert_one_line_error(r, EXIT_INPUT, fragment)


# 5. far-apart voxels --------------------------------------------------------------------------

def far_apart(path: Path, distance: int) -> Path:
    vdb = openvdb()
    d = np.full((3, 3, 3), 0.6, np.float32)
    v = np.zeros((3, 3, 3, 3), np.float32)
    v[..., 1] = 0.3
    dens, vel = vdb.FloatGrid(), vdb.Vec3SGrid()
    dens.name, vel.name = "density", "vel"
    for grid, data in ((dens, d), (vel, v)):
        for corner in ((0, 0, 0), (distance,) * 3):
            grid.copyFromArray(data, corner)
        grid.transform = vdb.createLinearTransform(0.1)
    vdb.write(str(path), [dens, vel])
    return path


def two_blobs(path: Path, gap: int = 30, seed: int = 0) -> Path:
    """Two random puffs (density and velocity) `gap` voxels apart along x, in a box that
    leaves one touching the box's low faces and the other its high ones."""
    rng = np.random.default_rng(seed)
    vdb = openvdb()
    dens, vel = vdb.FloatGrid(), vdb.Vec3SGrid()
    dens.name, vel.name = "density", "vel"
    for corner, size in (((2, 0, 1), (5, 6, 4)), ((2 + gap, 3, 0), (6, 4, 6))):
        d = rng.uniform(0.1, 1.0, size).astype(np.float32)
        v = rng.uniform(-0.5, 0.5, size + (3,)).astype(np.float32)
        dens.copyFromArray(d, corner)
        vel.copyFromArray(v, corner)
    for g in (dens, vel):
        g.transform = vdb.createLinearTransform(0.1)
    vdb.write(str(path), [dens, vel])
    return path


def test_far_apart_voxels_follow_the_active_voxels(tmp_path, toy_model):
    """A 1e5-voxel-wide bounding box (4e15 bytes dense): upres and convert work region by
    region with memory for the active voxels only; the other dense readers refuse in one
    line instead of running out of memory."""
    src = far_apart(tmp_path / "far.vdb", 100_000)
    r = cli("upres", src, "up.vdb", "--model", toy_model, "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    near = read_grid(tmp_path / "up.vdb", "density", bbox=((0, 0, 0), (11, 11, 11)))
    far = read_grid(tmp_path / "up.vdb", "density",
                    bbox=((400_000, 400_000, 400_000), (400_011,) * 3))
    assert near.data.sum() > 0 and np.allclose(near.data, far.data)
    r = cli("convert", src, "conv.vdb", "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    back = read_grid(tmp_path / "conv.vdb", "density", bbox=((99_999,) * 3, (100_003,) * 3))
    assert back.data[1:4, 1:4, 1:4].min() == pytest.approx(0.6)
    r = cli("baseline", src, "b.vdb", "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    near = read_grid(tmp_path / "b.vdb", "density", bbox=((0, 0, 0), (11, 11, 11)))
    far = read_grid(tmp_path / "b.vdb", "density",
                    bbox=((400_000, 400_000, 400_000), (400_011,) * 3))
    # each blob touches one face of the one-block run's box, whose border repeats: mirrored
    assert near.data.sum() > 0 and np.allclose(near.data, far.data[::-1, ::-1, ::-1])
    # wavelet turbulence keeps its state on one block across frames: refused in one line
    r = billow_here("baseline", src, tmp_path / "w.vdb", "--method", "wavelet")
    assert_one_line_error(r, EXIT_INPUT, "100003 x 100003 x 100003 voxels")


def test_regions_give_the_whole_volume_result(tmp_path, toy_model, monkeypatch):
    """Region by region equals the one-block run voxel for voxel (the halo argument)."""
    src = smoke_frame(tmp_path / "two.vdb")
    outs = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("BILLOW_REGIONS", mode)
        r = billow_here("upres", src, tmp_path / f"{mode}.vdb", "--model", toy_model,
                        "--threshold", "0")
        assert r.code == 0, r.err
        outs[mode] = tmp_path / f"{mode}.vdb"
    whole = read_grid(outs["never"], "density")
    regions = read_grid(outs["always"], "density", bbox=whole.index_bbox)
    np.testing.assert_array_equal(whole.data, regions.data)


@pytest.mark.parametrize("method", ["nearest", "trilinear", "tricubic", "tricubic-bp"])
def test_baseline_regions_give_the_one_block_result(tmp_path, monkeypatch, method):
    """The local baselines region by region equal the one-block run voxel for voxel, density
    and velocity, and write nothing outside it."""
    src = two_blobs(tmp_path / "two.vdb")
    outs = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("BILLOW_REGIONS", mode)
        r = billow_here("baseline", src, tmp_path / f"{mode}.vdb", "--method", method)
        assert r.code == 0, r.err
        outs[mode] = tmp_path / f"{mode}.vdb"
    assert "2 occupied region(s)" in r.err
    for name in ("density", "vel"):
        whole = read_grid(outs["never"], name)
        regions = read_grid(outs["always"], name)
        lo, hi = whole.index_bbox
        assert all(a >= b for a, b in zip(regions.index_bbox[0], lo))
        assert all(a <= b for a, b in zip(regions.index_bbox[1], hi))
        np.testing.assert_array_equal(whole.data, read_grid(outs["always"], name,
                                                            bbox=(lo, hi)).data)


# 6. one line, not a traceback -----------------------------------------------------------------

def test_unreadable_input_as_an_unprivileged_user(tmp_path, smoke_seq):
    src = tmp_path / "in/smoke.0001.vdb"
    src.chmod(0)
    preexec = None
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that allow it
        libc = ctypes.CDLL(None, use_errno=True)

        def preexec():
            for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
                if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                    raise OSError(ctypes.get_errno(), "prctl")
    try:
        r = cli("convert", src, "out.vdb", "--progress", "none", cwd=tmp_path, preexec=preexec)
    except subprocess.SubprocessError as e:
        pytest.skip(f"cannot run as an unprivileged user here ({e})")
    finally:
        src.chmod(0o644)
    assert r.returncode == EXIT_INPUT, r.stderr
    only_error_line(r.stderr, "cannot read (Permission denied)")


@pytest.mark.parametrize("args, fragment", [
    (("--batch", "0"), "--batch 0"),
    (("--threads", "-1"), "--threads -1"),
])
def test_bad_numbers_are_refused(tmp_path, toy_model, smoke_seq, args, fragment):
    r = billow_here("upres", smoke_seq, tmp_path / "o/x.####.vdb", "--model", toy_model, *args)
    assert_one_line_error(r, EXIT_INPUT, fragment)


def test_folder_or_empty_output_and_no_nanobind_noise(tmp_path):
    src = far_apart(tmp_path / "in.vdb", 10)
    (tmp_path / "folder").mkdir()
    for out, fragment in (("folder", "is a folder"), ("", "output path is empty")):
        r = cli("convert", src, out, "--progress", "none", cwd=tmp_path)
        assert r.returncode == EXIT_INPUT
        only_error_line(r.stderr, fragment)  # nothing else: no traceback, no "leaked" lines


def test_nan_in_one_velocity_component(tmp_path, toy_model):
    v = np.zeros((40, 24, 24, 3), np.float32)
    v[5, 6, 7] = (0.1, np.nan, 0.2)
    vdb = openvdb()
    src = smoke_frame(tmp_path / "f.vdb")
    grids = vdb.readAll(str(src))[0]
    vel = [g for g in grids if g.name == "vel"][0]
    vel.getAccessor().setValueOn((8, 4, 12), (0.1, float("nan"), 0.2))
    vdb.write(str(src), grids)
    r = billow_here("upres", src, tmp_path / "o.vdb", "--model", toy_model)
    assert_one_line_error(r, EXIT_INPUT, "grid 'vel' holds NaN or Inf voxels (first at index "
                          "(8, 4, 12))")


# 7. kills -------------------------------------------------------------------------------------

def test_sigterm_cleans_up_and_resumes(tmp_path, toy_model):
    for f in range(1, 7):
        smoke_frame(tmp_path / f"in/s.{f:04d}.vdb", shift=0.3 * f)
    args = ["upres", "in/s.####.vdb", "out/s.####.vdb", "--model", str(toy_model)]
    p = subprocess.Popen([sys.executable, "-m", "billow", *args, "--progress", "json"],
                         cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    for line in p.stdout:
        if '"event": "frame"' in line:
            break
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == EXIT_TERMINATED, err
    only_error_line(err, "terminated by SIGTERM", after_work=True)
    assert temporaries(tmp_path / "out") == []
    done = sorted((tmp_path / "out").glob("s.*.vdb"))
    assert 1 <= len(done) < 6 and all(vdb_complete(p) is None for p in done)
    r = cli(*args, "--skip-existing", "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "out").glob("s.*.vdb"))) == 6


def test_resume_removes_only_dead_writers_temporaries(tmp_path, toy_model, smoke_seq):
    out = tmp_path / "o"
    out.mkdir()
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
    dead = out / f".hi.0001.vdb.tmp-{dead_pid}.vdb"
    live = out / f".hi.0002.vdb.tmp-{os.getppid()}.vdb"  # pytest's parent: alive
    fresh = out / ".hi.0003.vdb.tmp-999999999.vdb"  # dead pid but just written (another host?)
    for p in (dead, live, fresh):
        p.write_bytes(b"partial")
    for p in (dead, live):
        os.utime(p, (time.time() - 3600,) * 2)
    r = billow_here("upres", smoke_seq, out / "hi.####.vdb", "--model", toy_model,
                    "--frames", "1", "--skip-existing")
    assert r.code == 0, r.err
    assert not dead.exists() and live.exists() and fresh.exists()


def test_blender_cancel_removes_only_its_own_temporaries(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from plugin_blender.core.job import stray_temporaries

    mine, other = tmp_path / ".s.0001.vdb.tmp-4242.vdb", tmp_path / ".s.0002.vdb.tmp-77.vdb"
    for p in (mine, other):
        p.write_bytes(b"x")
    assert stray_temporaries(str(tmp_path / "s.####.vdb"), 4242) == [mine]


# 8. implausible data --------------------------------------------------------------------------

def test_negative_density_and_absurd_velocity_are_refused(tmp_path, toy_model):
    vdb = openvdb()
    src = smoke_frame(tmp_path / "f.vdb")
    grids = vdb.readAll(str(src))[0]
    dens = [g for g in grids if g.name == "density"][0]
    dens.mapOn(lambda x: -x)
    vdb.write(str(tmp_path / "neg.vdb"), grids)
    r = billow_here("upres", tmp_path / "neg.vdb", tmp_path / "o.vdb", "--model", toy_model)
    assert_one_line_error(r, EXIT_INPUT, "no positive density")
    grids = vdb.readAll(str(src))[0]
    [g for g in grids if g.name == "vel"][0].mapOn(lambda v: (1e30, 0.0, 0.0))
    vdb.write(str(tmp_path / "fast.vdb"), grids)
    r = billow_here("upres", tmp_path / "fast.vdb", tmp_path / "o.vdb", "--model", toy_model)
    assert_one_line_error(r, EXIT_INPUT, "is not physical")
    assert not (tmp_path / "o.vdb").exists()


def test_a_preview_model_note_never_precedes_an_input_error(tmp_path, toy_model, smoke_seq):
    """The preview-model warning comes once a frame is written: a run that fails on its input
    prints the error line alone; a run that works still shows the note."""
    model = card_variant(tmp_path, toy_model,
                         lambda c: c.update(status="preview", status_note="not yet good"))
    vdb = openvdb()
    grids = vdb.readAll(str(smoke_frame(tmp_path / "f.vdb")))[0]
    [g for g in grids if g.name == "density"][0].mapOn(lambda x: -x)
    vdb.write(str(tmp_path / "neg.vdb"), grids)
    r = cli("upres", "neg.vdb", "o.vdb", "--model", model, "--progress", "none", cwd=tmp_path)
    assert r.returncode == EXIT_INPUT, r.stderr
    only_error_line(r.stderr, "no positive density")
    r = cli("upres", "f.vdb", "o.vdb", "--model", model, "--progress", "none", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "is a preview model: not yet good" in r.stderr and "warning: model " in r.stderr


def test_rgba_uv_frames_take_the_mask_from_alpha(tmp_path):
    cv2 = pytest.importorskip("cv2")
    from billow.uv.io import read_uv

    h = w = 16
    img = np.zeros((h, w, 4), np.uint16)  # OpenCV order B, G, R, A; B (unused) stays 0
    img[..., 2] = np.linspace(0, 65535, w).astype(np.uint16)[None, :]
    img[..., 1] = np.linspace(0, 65535, h).astype(np.uint16)[:, None]
    img[4:12, 4:12, 3] = 65535
    cv2.imwrite(str(tmp_path / "uv.0001.png"), img)
    _, mask = read_uv(tmp_path / "uv.0001.png")
    assert mask.sum() == 64 and mask[4:12, 4:12].all()
    img[..., 3] = 0  # nothing in front: retexture says so
    cv2.imwrite(str(tmp_path / "uv.0002.png"), img)
    cv2.imwrite(str(tmp_path / "tex.png"), np.full((8, 8, 3), 200, np.uint8))
    r = billow_here("retexture", "--uv", tmp_path / "uv.####.png", "--texture",
                    tmp_path / "tex.png", "--out", tmp_path / "rt.####.png", "--jobs", "1")
    assert r.code == 0, r.err
    assert "uv.0002.png: the UV mask is empty" in r.err and "uv.0001.png" not in r.err
