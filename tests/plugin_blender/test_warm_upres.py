"""Upres (and its re-runs) on the warm engine, inside real Blender (the `bpy` wheel, headless,
the extension installed from its .zip): the same VDB data as a new engine process, a re-render
after a Detail change, progress and Esc through the modal operator, Resume, and the engine
still answering after a cancel."""

from __future__ import annotations

from textwrap import dedent

import numpy as np
import pytest
from billow.io import list_grids, read_grid

from .test_artist import RENDER, SOURCE
from .test_extension import MODAL

pytest.importorskip("bpy", reason="Blender's bpy wheel is not installed (pip install bpy)")

WATCH = """
import importlib, os, shutil, time, types
ops = importlib.import_module("bl_ext.user_default.billow.operators")
warm = importlib.import_module("bl_ext.user_default.billow.warm")
panels = importlib.import_module("bl_ext.user_default.billow.panels")
JOBS = []
_start_job = ops.start_job
def _watched(ctx, plan, **kw):  # the operators run unchanged; this only keeps their jobs
    job = _start_job(ctx, plan, **kw)
    JOBS.append(job)
    return job
ops.start_job = _watched
"""


def _same_vdb(a, b) -> None:
    """Every grid of `a` and `b`: names, values, placement, metadata."""
    ga, gb = list_grids(a), list_grids(b)
    assert sorted(g.name for g in ga) == sorted(g.name for g in gb), (a, b)
    for g in ga:
        va, vb = read_grid(a, g.name), read_grid(b, g.name)
        np.testing.assert_array_equal(va.data, vb.data)
        assert va.offset == vb.offset and np.array_equal(va.matrix, vb.matrix)
        assert va.metadata == vb.metadata, (g.name, va.metadata, vb.metadata)


def test_upres_on_the_warm_engine_matches_cold_and_rerenders(run_blender, smoke_seq, tmp_path):
    """With no warm engine an Upres runs in a new engine process (the panel says so); after a
    Preview has started the warm engine, Upres runs there and writes the same VDB data (density
    and velocity, every frame); a re-run after a Detail change, on the same warm engine, renders
    differently in the same session."""
    first = str(smoke_seq).replace("####", "0001")
    out = tmp_path / "out" / "Smoke"
    r = run_blender(RENDER + SOURCE + WATCH + dedent(f"""
        ctx = bpy.context
        ctx.scene.frame_set(2)
        src = volume_object({first!r})
        s = src.billow
        s.model_file, s.output_folder, s.detail = "toy_x4.onnx", {str(tmp_path / 'out')!r}, 0.0
        s.write_velocity = True
        res = {{"label_before": panels.engine_label(ctx)[0]}}
        assert bpy.ops.billow.upres() == {{"FINISHED"}}            # v001: no warm engine yet
        shutil.copytree({str(out / 'v001')!r}, {str(tmp_path / 'cold')!r})
        assert bpy.ops.billow.preview() == {{"FINISHED"}}          # starts the warm engine
        pid = warm.current().proc.pid
        res["label_warm"] = panels.engine_label(ctx)[0]
        assert bpy.ops.billow.upres() == {{"FINISHED"}}            # v002, Detail 0 again
        shutil.copytree({str(out / 'v002')!r}, {str(tmp_path / 'warm')!r})
        out_obj = bpy.data.objects["Smoke_billow"]
        setup_render(out_obj)
        a = render("a")
        s.detail = 3.0
        assert bpy.ops.billow.upres() == {{"FINISHED"}}            # v003, Detail 3
        b = render("b")
        res["via"] = [j.via for j in JOBS]
        res["done"] = [j.status.snapshot().done for j in JOBS]
        res["files"] = [len(j.status.snapshot().files) for j in JOBS]
        res["diff"] = max(abs(x - y) for x, y in zip(a, b))
        res["alpha"] = max(b[3::4])
        res["same_server"] = warm.current().alive and warm.current().proc.pid == pid
        res["versions"] = sorted(n for n in os.listdir({str(out)!r}) if n.startswith("v"))
        res["shown"] = out_obj.data.filepath
        emit(res)
    """))
    assert r["label_before"].startswith("No warm engine yet: the next Upres or Preview")
    assert r["label_warm"].startswith("Warm engine running")
    assert r["via"] == ["new engine process", "warm engine", "warm engine", "warm engine"]
    assert r["done"] == [4, 1, 4, 4] and r["files"] == [4, 1, 4, 4]  # per-frame progress
    assert r["same_server"]
    names = sorted(p.name for p in (tmp_path / "cold").iterdir())
    assert names == [f"Smoke_x4.{f:04d}.vdb" for f in range(1, 5)]
    assert sorted(p.name for p in (tmp_path / "warm").iterdir()) == names
    for name in names:
        _same_vdb(tmp_path / "cold" / name, tmp_path / "warm" / name)
    assert {g.name for g in list_grids(tmp_path / "warm" / names[0])} == {"density", "vel"}
    assert r["versions"] == ["v003"] and "v003" in r["shown"]
    assert r["alpha"] > 0.5  # smoke in view
    assert r["diff"] > 0.01, r["diff"]


def test_warm_upres_shows_progress_esc_cancels_and_resumes(run_blender, tmp_path):
    """The modal Upres (a click) starts the warm engine and runs there, driven as Blender's event
    loop drives it: the status line names the warm engine and follows the frames, Esc stops the
    run with only complete frames on disk, the same engine then answers a Preview, and Resume
    finishes the rest on it."""
    from tests.infer.conftest import smoke_frame

    # 16 frames: a loaded machine must not finish them all before Esc is handled
    for f in range(1, 17):
        smoke_frame(tmp_path / "in" / f"smoke.{f:04d}.vdb", shift=0.25 * f)
    out_dir = tmp_path / "out" / "Smoke" / "v001"
    r = run_blender(MODAL + WATCH + dedent(f"""
        ctx = bpy.context
        vol = bpy.data.volumes.new("Smoke")
        vol.filepath = {str(tmp_path / 'in' / 'smoke.0001.vdb')!r}
        vol.is_sequence, vol.frame_duration = True, 16
        src = bpy.data.objects.new("Smoke", vol)
        ctx.scene.collection.objects.link(src)
        ctx.view_layer.objects.active = src
        ctx.scene.frame_set(1)
        src.billow.model_file, src.billow.output_folder = "toy_x4.onnx", {str(tmp_path / 'out')!r}
        assert warm.current() is None

        wm, fake_ctx, reports, op, tick, esc = fake_modal(ops)  # the stand-in window manager
        op.plan = ops.make_plan(ctx, src, "upres")
        op.job = ops.start_job(ctx, op.plan, interactive=True)  # as invoke (a click) does:
        pid = warm.current().proc.pid                              # it starts the warm engine
        ops._ACTIVE[src.name] = op.job
        texts, results = [], []
        deadline = time.monotonic() + 200
        while op.job.status.snapshot().done < 1 and time.monotonic() < deadline:
            results.append(sorted(op.modal(fake_ctx, tick)))
            texts.append(wm.billow_status)
            time.sleep(0.05)
        on_esc = sorted(op.modal(fake_ctx, esc))
        while True:
            ret = sorted(op.modal(fake_ctx, tick))
            results.append(ret)
            if ret != ["PASS_THROUGH"]:
                break
            time.sleep(0.05)
        after_cancel = sorted(os.listdir({str(out_dir)!r}))
        cancelled_done = op.job.status.snapshot().done
        server = warm.current()
        alive_after_cancel = server is not None and server.alive and server.proc.pid == pid

        ctx.scene.frame_set(3)
        assert bpy.ops.billow.preview() == {{"FINISHED"}}          # the engine still answers
        src.billow.skip_existing = True  # Resume
        assert bpy.ops.billow.upres() == {{"FINISHED"}}
        emit({{"texts": texts, "bar": wm.bar, "results": results, "reports": reports,
              "on_esc": on_esc, "after_cancel": after_cancel, "cancelled_done": cancelled_done,
              "alive_after_cancel": alive_after_cancel,
              "via": [j.via for j in JOBS], "resume_done": JOBS[-1].status.snapshot().done,
              "same_server": warm.current().proc.pid == pid,
              "resumed": sorted(os.listdir({str(out_dir)!r})),
              "out_seq": [bpy.data.objects["Smoke_billow"].data.frame_duration]}})
    """))
    texts = [t for t in r["texts"] if t]
    assert texts and all(t.startswith("billow upres (warm engine): ") for t in texts), texts
    assert any("/16)" in t and "Esc to cancel" in t for t in texts), texts
    assert r["on_esc"] == ["RUNNING_MODAL"]
    assert r["results"][-1] == ["CANCELLED"]
    assert r["bar"] and r["bar"] == sorted(r["bar"])
    assert r["reports"][-1][0] == ["WARNING"] and "cancelled" in r["reports"][-1][1]
    kept = r["after_cancel"]
    assert not [n for n in kept if n.startswith(".") or "tmp" in n], kept
    assert 1 <= len(kept) < 16 and r["cancelled_done"] <= len(kept), kept
    for name in kept:  # what exists under a final name is a complete frame
        assert read_grid(out_dir / name, "density").data.max() > 0.1
    assert r["alive_after_cancel"] and r["same_server"]
    # the clicked upres (starts it), cancelled; a preview after it; the resumed upres
    assert r["via"] == ["warm engine"] * 3
    assert r["resume_done"] == 16 - len(kept)
    assert r["resumed"] == [f"Smoke_x4.{f:04d}.vdb" for f in range(1, 17)]
    assert r["out_seq"] == [16]
