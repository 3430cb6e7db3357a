"""Upres and Preview: read the panel, build one engine command, run it as a worker subprocess,
load the result.

`invoke` (a click in the UI) runs modally: a timer polls the worker's status snapshot, feeds the
window-manager progress bar and the status bar, and Esc cancels (the engine is interrupted and
its temporary files removed; finished frames stay, a partial one never appears). `execute` (a
script, a test, `blender -b --python`) runs the same job synchronously.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from .core.command import EngineNotFound, UpresRequest, engine_prefix, upres_argv
from .core.frames import select_frames
from .core.job import EngineJob
from .core.mask import MaskError, mask_text
from .preferences import prefs
from .scene import SourceError, is_smoke_input, load_output, output_pattern, resolve_source

_ACTIVE: dict = {}  # input object name -> running job (one run per object at a time)


@dataclass
class Plan:
    source: object
    request: UpresRequest
    argv: list
    frames: list
    role: str


def _model_path(context, settings) -> str | None:
    if settings.model in ("", "DEFAULT"):
        return None
    return str(bpy.path.abspath(prefs(context).model_folder)).rstrip("/\\") + "/" + settings.model


def make_plan(context, obj, role: str) -> Plan:
    """Everything the engine needs, from the object's settings; raises with a fixable message."""
    settings, scene = obj.billow, context.scene
    context.view_layer.update()  # current world matrices after edits from scripts
    source = resolve_source(obj)
    if source.is_sequence:
        mode = "CURRENT" if role == "preview" else settings.frame_mode
        frames = select_frames(source.available, mode, source.seq,
                               scene_range=(scene.frame_start, scene.frame_end),
                               custom_range=(settings.frame_start, settings.frame_end),
                               current=scene.frame_current)
        if not frames:
            want = (f"scene frame {scene.frame_current}" if role == "preview"
                    else "the chosen frame range")
            raise SourceError(f"{source.pattern}: no cached file for {want} (cached files: "
                              f"{source.available[0]}-{source.available[-1]})")
    else:
        frames = []
    mask = None
    if settings.mask_object is not None:
        e = settings.mask_object
        mask = mask_text(e.empty_display_type, e.empty_display_size,
                         [list(r) for r in e.matrix_world],
                         [list(r) for r in source.cache_matrix.inverted()],
                         settings.mask_falloff)
    tag = ""
    if role == "preview":  # a new file each time: Blender caches volume files by path
        settings.preview_runs += 1
        tag = f"_preview{settings.preview_runs}"
    out = output_pattern(source, settings.output_folder, int(settings.scale), tag)
    device = prefs(context).device if settings.device == "DEFAULT" else settings.device
    fps = scene.render.fps / (scene.render.fps_base or 1.0)
    req = UpresRequest(source.pattern, out, tuple(frames) if frames else None,
                       _model_path(context, settings), int(settings.scale), settings.detail,
                       mask, device, "z", fps, source.time_scale,
                       skip_existing=settings.skip_existing and role == "upres")
    engine = prefs(context).engine
    argv = upres_argv(engine_prefix(bpy.path.abspath(engine) if engine else ""), req)
    return Plan(source, req, argv, frames, role)


def finish(op, context, plan: Plan, snap) -> set:
    """Turn the final status into objects or a report."""
    if snap.state == "cancelled":
        op.report({"WARNING"}, f"billow: cancelled; {snap.done} of {snap.total} frames were "
                  f"written to {plan.request.output_pattern} (tick Resume to continue)")
        return {"CANCELLED"}
    if snap.state != "done":
        op.report({"ERROR"}, f"billow upres failed: {snap.error}")
        return {"CANCELLED"}
    try:
        obj = load_output(plan.source, plan.request.output_pattern, plan.frames, plan.role)
    except SourceError as e:
        op.report({"ERROR"}, str(e))
        return {"CANCELLED"}
    if plan.role == "preview":
        _remove_old_previews(plan)
    else:  # the full result replaces the preview
        for o in bpy.data.objects:
            if o.get("billow_input") == plan.source.obj.name and o.get("billow_role") == "preview":
                o.hide_render = True
                try:
                    o.hide_set(True)
                except RuntimeError:
                    o.hide_viewport = True
    for o in context.view_layer.objects if context.view_layer else ():
        o.select_set(o == obj)
    op.report({"INFO"}, f"billow: {obj.name} <- {snap.done} frame{'s' * (snap.done != 1)} "
              f"in {snap.elapsed:.1f} s")
    return {"FINISHED"}


def _remove_old_previews(plan: Plan) -> None:
    from pathlib import Path

    name = Path(plan.request.output_pattern).name
    current = name.split("#", 1)[0] if "#" in name else name
    folder = Path(plan.request.output_pattern).parent
    for f in folder.glob("*_preview*.vdb"):
        if not f.name.startswith(current) and not f.name.startswith("."):
            try:
                f.unlink()
            except OSError:
                pass


class _Run:
    """Shared by Upres and Preview."""

    role = "upres"

    @classmethod
    def poll(cls, context):
        return is_smoke_input(context.active_object) and not context.active_object.get(
            "billow_role")

    def _plan(self, context):
        obj = context.active_object
        if obj.name in _ACTIVE:
            self.report({"ERROR"}, f"billow: {obj.name} is already being processed")
            return None
        try:
            return make_plan(context, obj, self.role)
        except (SourceError, MaskError, EngineNotFound, ValueError) as e:
            self.report({"ERROR"}, f"billow: {e}")
            return None

    def execute(self, context):
        plan = self._plan(context)
        if plan is None:
            return {"CANCELLED"}
        job = EngineJob(plan.argv, plan.request.output_pattern).start()
        return finish(self, context, plan, job.wait())

    def invoke(self, context, event):
        self.plan = self._plan(context)
        if self.plan is None:
            return {"CANCELLED"}
        self.job = EngineJob(self.plan.argv, self.plan.request.output_pattern).start()
        _ACTIVE[self.plan.source.obj.name] = self.job
        wm = context.window_manager
        self.timer = wm.event_timer_add(0.2, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _show(self, context, text: str | None) -> None:
        context.window_manager.billow_status = text or ""
        if context.workspace is not None:
            context.workspace.status_text_set(text)
        for window in context.window_manager.windows:
            for area in window.screen.areas:
                if area.type in ("VIEW_3D", "PROPERTIES"):
                    area.tag_redraw()

    def _end(self, context) -> None:
        wm = context.window_manager
        wm.event_timer_remove(self.timer)
        wm.progress_end()
        _ACTIVE.pop(self.plan.source.obj.name, None)
        self._show(context, None)

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            self._show(context, "billow: cancelling...")
            self.job.cancel(wait=False)  # interrupt now; the next ticks see it end
            return {"RUNNING_MODAL"}
        if event.type != "TIMER" or event.timer is not self.timer:
            return {"PASS_THROUGH"}  # Blender stays usable while the engine works
        snap = self.job.status.snapshot()
        if not snap.finished:
            context.window_manager.progress_update(int(100 * snap.fraction))
            self._show(context, snap.text("billow " + self.role))
            return {"PASS_THROUGH"}
        self._end(context)
        return finish(self, context, self.plan, snap)

    def cancel(self, context):  # Blender closing the window / file while running
        self.job.cancel()
        self._end(context)


class BILLOW_OT_upres(_Run, bpy.types.Operator):
    """Upres the smoke with the billow engine into a new Volume object (Esc cancels)"""

    bl_idname = "billow.upres"
    bl_label = "Upres Smoke"
    bl_options = {"REGISTER", "UNDO"}
    role = "upres"


class BILLOW_OT_preview(_Run, bpy.types.Operator):
    """Upres the current frame only, to tune Detail; re-running replaces the preview"""

    bl_idname = "billow.preview"
    bl_label = "Preview Frame"
    bl_options = {"REGISTER", "UNDO"}
    role = "preview"


CLASSES = (BILLOW_OT_upres, BILLOW_OT_preview)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for job in list(_ACTIVE.values()):
        job.cancel()
    _ACTIVE.clear()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
