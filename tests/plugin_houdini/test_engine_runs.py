"""The plugin's command lines run for real against the engine on a tiny cache (toy model):
the TOP's work items, the SOP's single-frame cook (minus `hou`), cancel and errors."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from billow_houdini.vendor.billow_client import engine_env
from billow_houdini.command import build_argv, resolve_executable, settings_from_parms
from billow_houdini.errors import EngineError
from billow_houdini.paths import frame_path
from billow_houdini.runner import run_engine
from billow_houdini.top import plan_from_top_values, top_parms, top_values

from .conftest import ENGINE, FPS, load_onnx_for_sop, tiny_frame
from .test_command import parm_defaults


def top_parm_values(**overrides) -> dict:
    """The TOP's parameters as PDG evaluates them (defaults, then `overrides`)."""
    defaults = {p["name"]: p["default"] for p in top_parms()}
    defaults.update(overrides)
    return top_values(lambda name, kind: defaults[name])


def test_top_work_items_run_and_cover_the_range(tiny_cache, toy_model):
    from billow.io import list_grids

    hip = str(tiny_cache)
    values = top_parm_values(
        incache=f"{hip}/geo/pyro.####.vdb", outcache="billow/hi.####.vdb", model=str(toy_model),
        frames="1-3", chunksize=2, executable=shlex.join(ENGINE), threads=1, fps=FPS)
    items = plan_from_top_values(values, base_dir=hip)
    assert [(i.index, i.frames) for i in items] == [(0, (1, 2)), (1, (3,))]
    assert all("--chunk 2 --chunk-index" in i.command and "--skip-existing" in i.command
               for i in items)
    assert items[1].outputs == (f"{hip}/billow/hi.0003.vdb",)

    # work item 0 as the SOP/TOP runner follows it: JSON progress, one event per frame
    seen = []
    result = run_engine(items[0].argv, report=lambda s: seen.append((s.done, s.total)))
    assert result.state.finished and result.state.files == list(items[0].outputs)
    assert (2, 2) in seen
    # work item 1 exactly as a scheduler runs it: the command text through a shell
    proc = subprocess.run(items[1].command, shell=True, env=engine_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for item in items:
        for path in item.outputs:
            grids = {g.name: g for g in list_grids(path)}
            assert set(grids) == {"density"}  # the input's grid name, kept
            assert grids["density"].voxel_size[0] == pytest.approx(0.025)
            assert grids["density"].metadata["billow_model"] == "toy_x4"


def test_top_refuses_evaluated_frame_numbers(tiny_cache, toy_model):
    # PDG evaluated `$F4` to the current frame: the path lost its token; say so, do not run
    values = top_parm_values(incache=f"{tiny_cache}/geo/pyro.0001.vdb", model=str(toy_model),
                             frames="1-3")
    with pytest.raises(ValueError, match="####"):
        plan_from_top_values(values, base_dir=str(tiny_cache))


def test_sop_cook_and_the_onnx_sop_recipe_agree(tmp_path, toy_model):
    """The SOP's single-frame cook (upstream geometry written to one temporary VDB) through the
    engine, and the documented ONNX Inference SOP recipe (Houdini voxel order, halo padding,
    world/s velocity) on the same frame, give the same voxels."""
    import numpy as np
    import onnxruntime as ort

    from billow.io import read_grid

    src = tiny_frame(tmp_path / "tmp" / "in.vdb", shift=0.3)
    values = parm_defaults(source="input", outcache="$HIP/billow/$OS.$F4.vdb",
                           model=str(toy_model), tile=64, threads=1, fps=FPS, passthrough="")
    settings = settings_from_parms(values, {"HIP": str(tmp_path), "OS": "upres1"}, str(tmp_path),
                                   input_pattern=str(src))
    out = frame_path(settings.output, 7)
    from dataclasses import replace
    argv = build_argv(replace(settings, output=out), resolve_executable(shlex.join(ENGINE), {}))
    result = run_engine(argv)
    assert result.state.files == [out] and out.endswith("billow/upres1.0007.vdb")
    engine = read_grid(out, "density")

    # The ONNX Inference SOP path: Houdini volumes (x fastest = tensor Z, Y, X), channels
    # density vel.x vel.y vel.z, padded by the card's halo, vel in world units/s
    d, v = read_grid(src, "density"), read_grid(src, "vel")
    assert d.offset == v.offset and d.data.shape == v.data.shape[:3]
    halo, voxel = 3, float(d.matrix[0, 0])
    padded = [np.pad(c, halo) for c in (d.data, v.data[..., 0], v.data[..., 1], v.data[..., 2])]
    shape_xyz = padded[0].shape
    sop = load_onnx_for_sop()
    model = tmp_path / "sop" / "toy_sop.onnx"
    info = sop.wrap(toy_model, model, shape_xyz, "zyx", voxel_size=voxel, fps=FPS)
    assert info["pad_cells"] == halo and info["input_volume_order"] == "ZYX"
    houdini_buffer = np.concatenate([c.transpose(2, 1, 0).ravel() for c in padded])  # x fastest
    tensor = houdini_buffer.reshape(info["input_shape"]).astype(np.float32)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    hi = session.run(None, {info["input_name"]: tensor})[0]
    assert list(hi.shape) == info["output_shape"]
    hi = hi[0, 0].transpose(2, 1, 0)  # back to [x, y, z]
    crop = 4 * halo
    hi = hi[crop:-crop, crop:-crop, crop:-crop]

    # the engine's sparse output, placed in the same [x, y, z] block (output index 4 * input)
    placed = np.zeros_like(hi)
    lo = np.asarray(engine.offset) - 4 * np.asarray(d.offset)
    assert (lo >= 0).all()
    sl = tuple(slice(a, a + n) for a, n in zip(lo, engine.data.shape))
    placed[sl] = engine.data
    expected = np.where(hi >= 1e-4, hi, 0.0)  # the engine's --threshold
    assert np.abs(placed - expected).max() < 2e-4
    assert placed.sum() == pytest.approx(expected.sum(), rel=1e-4)


def test_cancel_stops_the_engine_and_keeps_whole_frames(tmp_path, toy_model, monkeypatch):
    """Also when the host ignores SIGINT (a shell's background job, some hosts): the engine
    inherits that, so a SIGINT cancel was never handled and the engine was killed after the
    grace, its temporary left behind (CI, twice). The cancel is SIGTERM, which the engine
    handles whatever it inherited."""
    import signal

    import billow_houdini.runner as runner
    from billow.io import list_grids

    from tests.infer.conftest import smoke_frame

    # 40 frames: a loaded machine must not finish them all before the cancel is handled (12
    # lost that race at load 5-8)
    for f in range(1, 41):
        smoke_frame(tmp_path / "in" / f"s.{f:04d}.vdb", shift=0.3 * f)
    argv = [*ENGINE, "upres", str(tmp_path / "in/s.$F4.vdb"), str(tmp_path / "out/s.$F4.vdb"),
            "--model", str(toy_model), "--tile", "8", "--threads", "1", "--progress", "json"]

    class Interrupted(Exception):
        """Stands in for hou.OperationInterrupted (Esc)."""

    def report(state):
        if state.done >= 1:
            raise Interrupted

    ended = []  # the engine's exit code: 143 = it handled the cancel, -9 = killed after grace
    real_stop = runner.stop

    def stop(proc, grace):
        real_stop(proc, grace)
        ended.append(proc.returncode)

    monkeypatch.setattr(runner, "stop", stop)
    host_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine inherits this
    try:
        with pytest.raises(Interrupted):
            run_engine(argv, report, grace=10)
    finally:
        signal.signal(signal.SIGINT, host_sigint)
    assert ended == [143], ended  # handled, not killed after the grace
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert 1 <= len(written) < 40, written  # stopped early, no temporary files left behind
    assert all(n.startswith("s.") and n.endswith(".vdb") for n in written), written
    for name in written:  # whole frames only
        assert {g.name for g in list_grids(tmp_path / "out" / name)} >= {"density"}


def test_engine_errors_reach_the_node_as_one_line(tiny_cache, toy_model):
    argv = [*ENGINE, "upres", f"{tiny_cache}/geo/pyro.$F4.vdb", f"{tiny_cache}/o/x.$F4.vdb",
            "--model", str(toy_model), "--frames", "1-5", "--progress", "json"]
    with pytest.raises(EngineError) as info:
        run_engine(argv)
    e = info.value
    assert e.exit_code == 2 and "\n" not in str(e)
    assert "pyro.####.vdb: missing frames 4-5" in str(e) and "check the input" in str(e)
    with pytest.raises(EngineError, match="engine not found"):
        run_engine([str(tiny_cache / "no_such_billow"), "upres"])
