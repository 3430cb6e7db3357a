"""The extension inside real Blender (the `bpy` wheel, headless): installed from its .zip by
Blender's extension installer, operators run synchronously (`execute`, what scripts and tests
call), the result loaded and rendered with Cycles on the CPU."""

from __future__ import annotations

import itertools
from textwrap import dedent

import numpy as np
import pytest
from billow.io import read_grid

from .conftest import PLUGIN


# Headless Blender has no window for event_timer_add/modal_handler_add: `fake_modal` stands in
# for the window manager and the events and binds the operator's own modal methods (the modal
# tests here and in test_warm_upres.py).
MODAL = """
import types
def fake_modal(ops):
    timer = object()
    wm = types.SimpleNamespace(billow_status="", windows=[], bar=[],
                               progress_update=lambda v: wm.bar.append(v),
                               progress_end=lambda: None, event_timer_remove=lambda t: None)
    reports = []
    op = types.SimpleNamespace(role="upres", timer=timer,
                               report=lambda kind, text: reports.append([sorted(kind), text]))
    for name in ("_show", "_end", "modal"):
        setattr(op, name, types.MethodType(getattr(ops._Run, name), op))
    tick = types.SimpleNamespace(type="TIMER", value="NOTHING", timer=timer)
    esc = types.SimpleNamespace(type="ESC", value="PRESS", timer=None)
    return wm, types.SimpleNamespace(window_manager=wm, workspace=None), reports, op, tick, esc
"""

pytest.importorskip("bpy", reason="Blender's bpy wheel is not installed (pip install bpy)")


def test_upres_preview_and_render(run_blender, smoke_seq, tmp_path):
    """Upres a 4-frame sequence shown from scene frame 10 on a moved, rotated object; the output
    object has the same timing, transform and a smoke material, the input is hidden, Cycles
    renders smoke where the smoke is, and Preview updates one object in place."""
    out_dir = tmp_path / "out"
    r = run_blender(f"""
        import math, os
        from bpy_extras.object_utils import world_to_camera_view
        from mathutils import Vector
        ctx = bpy.context
        scene = ctx.scene
        res = {{}}
        assert bpy.ops.billow.check_engine() == {{"FINISHED"}}
        res["check"] = PREFS.check_result

        vol = bpy.data.volumes.new("Smoke")
        vol.filepath = {str(smoke_seq).replace('####', '0001')!r}
        vol.is_sequence, vol.frame_duration, vol.frame_start, vol.frame_offset = True, 4, 10, 0
        src = bpy.data.objects.new("Smoke", vol)
        scene.collection.objects.link(src)
        src.location, src.rotation_euler = (1, 2, 3), (0, 0, math.radians(30))
        ctx.view_layer.objects.active = src
        ctx.view_layer.update()
        s = src.billow
        s.model_file, s.output_folder = "toy_x4.onnx", {str(out_dir)!r}

        # preview twice at scene frame 12 (file 3): one object, updated in place
        scene.frame_set(12)
        s.detail = 0.5
        assert bpy.ops.billow.preview() == {{"FINISHED"}}
        prev = bpy.data.objects["Smoke_billow_preview"]
        first_path = prev.data.filepath
        s.detail = 2.0
        assert bpy.ops.billow.preview() == {{"FINISHED"}}
        res["previews"] = [o.name for o in bpy.data.objects if o.get("billow_role") == "preview"]
        res["preview_paths"] = [first_path, prev.data.filepath]
        res["preview_grids"] = [g.name for g in prev.data.grids]
        res["preview_files"] = sorted(os.listdir(os.path.dirname(prev.data.filepath)))

        # the full upres
        s.detail = 1.0
        assert bpy.ops.billow.upres() == {{"FINISHED"}}
        out = bpy.data.objects["Smoke_billow"]
        v = out.data
        res["seq"] = [v.filepath, v.is_sequence, v.frame_start, v.frame_offset, v.frame_duration]
        res["matrix"] = [list(r) for r in out.matrix_world]
        res["src_matrix"] = [list(r) for r in src.matrix_world]
        res["material"] = [m.name for m in v.materials]
        res["nodes"] = sorted(n.bl_idname for n in v.materials[0].node_tree.nodes)
        res["hidden"] = [src.hide_render, src.hide_get(), prev.hide_render, out.hide_render]
        files = {{}}
        for f in (9, 10, 11, 13, 14):
            scene.frame_set(f)
            v.grids.load()
            files[f] = [os.path.basename(v.grids.frame_filepath) if v.grids.is_loaded else None,
                        [g.name for g in v.grids]]
        res["files"] = files
        scene.frame_set(11)
        ctx.view_layer.update()
        res["out_box"] = [list(out.matrix_world @ Vector(c)) for c in out.bound_box]
        res["src_box"] = [list(src.matrix_world @ Vector(c)) for c in src.bound_box]

        # render frame 11 (file 2) with Cycles on the CPU
        scene.render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = 4
        scene.cycles.use_denoising = False
        scene.render.resolution_x = scene.render.resolution_y = 64
        scene.render.resolution_percentage = 100
        scene.render.film_transparent = True
        scene.render.threads_mode, scene.render.threads = "FIXED", 2
        cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
        scene.collection.objects.link(cam)
        cam.data.type, cam.data.ortho_scale = "ORTHO", 7.0
        centre = sum((Vector(c) for c in res["src_box"]), Vector()) / 8
        cam.location = centre + Vector((0, 0, 10))  # looking straight down
        scene.camera = cam
        world = bpy.data.worlds.new("W")
        world.use_nodes = True
        world.node_tree.nodes["Background"].inputs["Strength"].default_value = 1.0
        scene.world = world
        scene.render.filepath = {str(tmp_path / "render.png")!r}
        bpy.ops.render.render(write_still=True)
        img = bpy.data.images.load(scene.render.filepath)
        w, h = img.size
        px = list(img.pixels)
        alpha = [[px[4 * (y * w + x) + 3] for x in range(w)] for y in range(h)]
        # the denser blob of file 2 (index (9, 10, 12) of the input grid, offset (3, -2, 5))
        blob = Vector((0.3 + 12 * 0.1, -0.2 + 8 * 0.1, 1.0 + 17 * 0.1))
        p = world_to_camera_view(scene, cam, out.matrix_world @ blob)
        res["blob_px"] = [p.x * w, p.y * h]
        res["alpha"] = alpha
        emit(res)
    """)
    assert r["check"].startswith("billow ")
    # Preview: one object, a new file per run (Blender caches volumes by path), the old removed
    assert r["previews"] == ["Smoke_billow_preview"]
    p1, p2 = r["preview_paths"]
    assert p1 != p2 and p1.endswith("_preview1.0003.vdb") and p2.endswith("_preview2.0003.vdb")
    assert r["preview_files"] == ["Smoke_x4_preview2.0003.vdb"]
    assert r["preview_grids"] == ["density"]
    # Timing: scene 10..13 show files 1..4, as the input; nothing outside
    path, is_seq, start, offset, duration = r["seq"]
    assert path == str(tmp_path / "out" / "Smoke" / "v001" / "Smoke_x4.0001.vdb")
    assert (is_seq, start, offset, duration) == (True, 10, 0, 4)
    assert r["files"]["10"] == ["Smoke_x4.0001.vdb", ["density"]]
    assert r["files"]["13"] == ["Smoke_x4.0004.vdb", ["density"]]
    assert r["files"]["9"][0] is None and r["files"]["14"][0] is None
    # Transform: the input's; the output overlays the input (within an input leaf of 0.8)
    np.testing.assert_allclose(r["matrix"], r["src_matrix"], atol=1e-6)
    out_box, src_box = np.array(r["out_box"]), np.array(r["src_box"])
    assert np.all(out_box.min(0) >= src_box.min(0) - 1e-4)
    assert np.all(out_box.max(0) <= src_box.max(0) + 1e-4)
    assert np.all(out_box.max(0) - out_box.min(0) > 0.5 * (src_box.max(0) - src_box.min(0)))
    assert r["material"] == ["billow Smoke"]
    assert "ShaderNodeVolumePrincipled" in r["nodes"]
    assert r["hidden"] == [True, True, True, False]  # input and preview hidden, output shown
    # the output frames are the engine's 4x density
    hi = read_grid(tmp_path / "out" / "Smoke" / "v001" / "Smoke_x4.0002.vdb", "density")
    np.testing.assert_allclose(hi.voxel_size, 0.025, rtol=1e-6)
    assert hi.data.max() > 0.5
    # Render: smoke where the blob projects, empty in the corners
    alpha = np.array(r["alpha"])
    x, y = (round(c) for c in r["blob_px"])
    assert 4 <= x < 60 and 4 <= y < 60, r["blob_px"]
    assert alpha[y - 2:y + 3, x - 2:x + 3].mean() > 0.1, alpha.max()
    assert alpha[:4, :4].max() < 0.01 and alpha[-4:, -4:].max() < 0.01


def test_errors_are_reports_with_the_message(run_blender, tmp_path):
    """No engine, a broken cache, an unbaked domain, an unsaved .blend: each is an error report
    that says what is wrong (bpy.ops raises it as RuntimeError in a script)."""
    bad = tmp_path / "broken"
    bad.mkdir()
    for f in (1, 2):
        (bad / f"smoke.{f:04d}.vdb").write_bytes(b"not a vdb file")
    r = run_blender(f"""
        ctx = bpy.context
        res = {{}}
        def attempt(op):
            try:
                return "ok:" + str(op())
            except RuntimeError as e:
                return str(e)
        vol = bpy.data.volumes.new("Broken")
        vol.filepath = {str(bad / 'smoke.0001.vdb')!r}
        vol.is_sequence, vol.frame_duration = True, 2
        src = bpy.data.objects.new("Broken", vol)
        ctx.scene.collection.objects.link(src)
        ctx.view_layer.objects.active = src
        res["unsaved"] = attempt(bpy.ops.billow.upres)  # default output folder is //billow/
        src.billow.output_folder = {str(tmp_path / 'out')!r}
        src.billow.model_file = "toy_x4.onnx"
        res["broken"] = attempt(bpy.ops.billow.upres)
        PREFS.engine = {str(tmp_path / 'no' / 'billow')!r}
        res["no_engine"] = attempt(bpy.ops.billow.upres)
        PREFS.engine = ""
        import os
        os.environ["PATH"] = {str(tmp_path)!r}
        res["not_on_path"] = attempt(bpy.ops.billow.upres)
        res["check"] = attempt(bpy.ops.billow.check_engine)
        res["check_text"] = PREFS.check_result

        bpy.ops.mesh.primitive_cube_add()
        dom = ctx.active_object
        mod = dom.modifiers.new("Fluid", "FLUID")
        mod.fluid_type = "DOMAIN"
        mod.domain_settings.cache_directory = {str(tmp_path / 'empty_cache')!r}
        res["unbaked"] = attempt(bpy.ops.billow.upres)
        mod.domain_settings.domain_type = "LIQUID"
        res["liquid"] = attempt(bpy.ops.billow.upres)
        emit(res)
        sys.stdout.flush()
        os._exit(0)  # Mantaflow in the bpy wheel aborts at exit once a domain has existed
    """)
    assert "relative (//)" in r["unsaved"] and "save it" in r["unsaved"]
    # the engine's own message: which file and what is wrong
    assert r["broken"].startswith("Error: billow upres failed: ")
    assert "smoke.0001.vdb" in r["broken"] and "Traceback" not in r["broken"]
    assert "no such file" in r["no_engine"] and "Preferences" in r["no_engine"]
    assert "not on PATH" in r["not_on_path"]
    assert "not on PATH" in r["check"] and "not on PATH" in r["check_text"]
    assert "no baked OpenVDB frames" in r["unbaked"] and "bake the domain" in r["unbaked"]
    assert "liquid domain" in r["liquid"]


def test_plan_mask_device_and_frames(run_blender, smoke_seq, tmp_path):
    """The command the panel builds: a Sphere empty becomes a mask in the cache's space, the
    device falls back to the preferences, frames follow the scene range through the sequence
    timing, fps from the scene."""
    r = run_blender(f"""
        import math, os
        ctx = bpy.context
        scene = ctx.scene
        scene.render.fps, scene.frame_start, scene.frame_end = 30, 11, 12
        vol = bpy.data.volumes.new("Smoke")
        vol.filepath = {str(smoke_seq).replace('####', '0001')!r}
        vol.is_sequence, vol.frame_duration, vol.frame_start = True, 4, 10
        src = bpy.data.objects.new("Smoke", vol)
        scene.collection.objects.link(src)
        src.location, src.scale = (1, 2, 3), (2, 2, 2)
        empty = bpy.data.objects.new("Mask", None)
        scene.collection.objects.link(empty)
        empty.empty_display_type, empty.empty_display_size = "SPHERE", 1.0
        empty.location, empty.scale = (1, 2, 5), (0.5, 0.5, 0.5)
        s = src.billow
        s.mask_object, s.mask_falloff = empty, 0.4
        s.frame_mode, s.scale, s.output_folder = "SCENE", "8", {str(tmp_path / 'o')!r}
        PREFS.device = "cuda"
        import importlib
        ops = importlib.import_module("bl_ext.user_default.billow.operators")
        plan = ops.make_plan(ctx, src, "upres")
        res = {{"argv": plan.argv}}
        empty.empty_display_type = "ARROWS"
        try:
            ops.make_plan(ctx, src, "upres")
        except ValueError as e:
            res["arrows"] = str(e)

        # the panel's draw code, for each kind of object (docs/panel_layout.py records it)
        sys.path.insert(0, {str(PLUGIN / 'docs')!r})
        import panel_layout
        def texts(items):
            return [i.get("text") for i in items if i["kind"] in ("label", "prop", "operator")]
        res["panel_volume"] = texts(panel_layout.record(src))
        res["panel_volume_data"] = texts(panel_layout.record(src, "DATA"))
        bpy.ops.mesh.primitive_cube_add()
        cube = ctx.active_object
        res["panel_mesh"] = texts(panel_layout.record(cube))
        mod = cube.modifiers.new("Fluid", "FLUID")
        mod.fluid_type = "DOMAIN"
        res["panel_domain"] = texts(panel_layout.record(cube, "PHYSICS"))
        emit(res)
        sys.stdout.flush()
        os._exit(0)  # Mantaflow in the bpy wheel aborts at exit once a domain has existed
    """)
    argv = r["argv"]
    opts = dict(itertools.pairwise(argv))
    assert opts["--frames"] == "2-3" and opts["--scale"] == "8" and opts["--fps"] == "30"
    assert opts["--device"] == "cuda" and opts["--up-axis"] == "z"
    kind, values = opts["--mask"].split(":")
    assert kind == "sphere"
    np.testing.assert_allclose([float(v) for v in values.split(",")], [0, 0, 1, 0.25, 0.2],
                               atol=1e-5)
    assert opts[argv[2]] == str(tmp_path / "o" / "Smoke" / "v001" / "Smoke_x8.####.vdb")
    assert "Sphere or Cube" in r["arrows"]
    panel = r["panel_volume"]
    assert panel[0] == "VDB sequence: smoke.0001.vdb"
    for label in ("Model", "Scale", "Detail", "Detail Mask", "Falloff", "Frames", "Device",
                  "Output", "Resume", "Preview Frame", "Upres Smoke"):
        assert label in panel, panel
    assert r["panel_volume_data"] == panel
    assert r["panel_mesh"] == ["Select a Volume object or a smoke domain"]
    assert r["panel_domain"][0].startswith("Mantaflow cache: ")
    assert "Upres Smoke" in r["panel_domain"]


def test_modal_run_shows_progress_and_esc_cancels(run_blender, tmp_path):
    """The modal path, driven the way Blender's event loop drives it (timer ticks, then Esc):
    the status text and progress bar follow the engine, Esc ends the engine with only complete
    frames on disk, and Resume then finishes the rest into the output object."""
    from tests.infer.conftest import smoke_frame

    # 40 frames: a loaded machine must not finish them all before Esc is handled (16 lost
    # that race at load 5-8)
    for f in range(1, 41):
        smoke_frame(tmp_path / "in" / f"smoke.{f:04d}.vdb", shift=0.25 * f)
    out_dir = tmp_path / "out" / "Smoke" / "v001"  # Resume continues the version folder
    r = run_blender(MODAL + dedent(f"""
        import importlib, os, time, types
        ops = importlib.import_module("bl_ext.user_default.billow.operators")
        job_mod = importlib.import_module("bl_ext.user_default.billow.core.job")
        ctx = bpy.context
        vol = bpy.data.volumes.new("Smoke")
        vol.filepath = {str(tmp_path / 'in' / 'smoke.0001.vdb')!r}
        vol.is_sequence, vol.frame_duration = True, 40
        src = bpy.data.objects.new("Smoke", vol)
        ctx.scene.collection.objects.link(src)
        ctx.view_layer.objects.active = src
        src.billow.model_file, src.billow.output_folder = "toy_x4.onnx", {str(tmp_path / 'out')!r}

        wm, fake_ctx, reports, op, tick, esc = fake_modal(ops)  # the stand-in window manager
        op.plan = ops.make_plan(ctx, src, "upres")
        op.job = job_mod.EngineJob(op.plan.argv, op.plan.request.output_pattern).start()
        other = types.SimpleNamespace(type="MOUSEMOVE", value="NOTHING", timer=None)
        texts, results = [], []
        deadline = time.monotonic() + 200
        while op.job.status.snapshot().done < 1 and time.monotonic() < deadline:
            results.append(sorted(op.modal(fake_ctx, tick)))
            texts.append(wm.billow_status)
            time.sleep(0.05)
        on_mouse = sorted(op.modal(fake_ctx, other))  # Blender stays usable meanwhile
        on_esc = sorted(op.modal(fake_ctx, esc))
        while True:
            ret = sorted(op.modal(fake_ctx, tick))
            results.append(ret)
            if ret != ["PASS_THROUGH"]:
                break
            time.sleep(0.05)
        after_cancel = sorted(os.listdir({str(out_dir)!r}))
        objects_after_cancel = [o.name for o in bpy.data.objects]

        src.billow.skip_existing = True  # Resume
        assert bpy.ops.billow.upres() == {{"FINISHED"}}
        emit({{"texts": texts, "bar": wm.bar, "results": results, "reports": reports,
              "on_mouse": on_mouse, "on_esc": on_esc,
              "after_cancel": after_cancel, "status_after": wm.billow_status,
              "objects_after_cancel": objects_after_cancel,
              "resumed": sorted(os.listdir({str(out_dir)!r})),
              "out_seq": [bpy.data.objects["Smoke_billow"].data.frame_duration]}})
    """))
    assert any("Esc to cancel" in t for t in r["texts"])
    assert r["on_mouse"] == ["PASS_THROUGH"]  # a mouse move goes on to Blender
    assert r["on_esc"] == ["RUNNING_MODAL"]  # Esc is taken by the operator
    assert r["results"][-1] == ["CANCELLED"]
    assert all(x == ["PASS_THROUGH"] for x in r["results"][:-1])
    assert r["bar"] and r["bar"] == sorted(r["bar"])  # the progress bar only moves forward
    assert r["reports"] and r["reports"][-1][0] == ["WARNING"]
    assert "cancelled" in r["reports"][-1][1] and "Resume" in r["reports"][-1][1]
    assert r["status_after"] == ""
    kept = r["after_cancel"]
    assert not [n for n in kept if n.startswith(".") or "tmp" in n], kept
    assert 1 <= len(kept) < 40, kept
    assert "Smoke_billow" not in r["objects_after_cancel"]
    for name in kept:  # what exists under a final name is a complete frame
        assert read_grid(out_dir / name, "density").data.max() > 0.1
    assert r["resumed"] == [f"Smoke_x4.{f:04d}.vdb" for f in range(1, 41)]
    assert r["out_seq"] == [40]
