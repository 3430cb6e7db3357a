"""Upres and Preview: read the panel, build one engine command, run it as a worker subprocess,
load the result.

Preview runs on the warm engine (`warm.py`, one `billow serve` process kept with its model
loaded; started by the first preview) unless the preferences turn it off. Upres (and its
re-runs) runs on the warm engine when one is running, else in a new engine process; both give
the same per-frame progress and the same files, and the status line and the final report say
which one ran (`job.via`). `invoke` (a click in the UI) runs modally: a timer polls the worker's
status snapshot, feeds the window-manager progress bar and the status bar, and Esc cancels (the
engine stops the run and removes the frame it was writing; finished frames stay, a partial one
never appears; the warm engine stays up). `execute` (a script, a test, `blender -b --python`)
runs the same job synchronously.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from pathlib import Path

from .core.command import EngineNotFound, UpresRequest, engine_prefix, upres_argv
from .core.frames import select_frames
from .core.job import EngineJob
from .core.mask import MaskError, mask_text
from .core.server import ServerError, ServerJob
from .preferences import prefs
from .properties import model_files, model_folder
from .scene import (
    SourceError,
    cache_info,
    cache_up_axis,
    is_smoke_input,
    load_output,
    output_pattern,
    pass_through_roles,
    remove_old_versions,
    resolve_source,
)

VELOCITY_NAMES = ("vel", "velocity", "v")

_ACTIVE: dict = {}  # input object name -> running job (one run per object at a time)


@dataclass
class Plan:
    source: object
    request: UpresRequest
    argv: list
    frames: list
    role: str
    prefix: list = None
    velocity_grid: str = ""
    up_reason: str = ""


def model_path(context, settings) -> str | None:
    """The chosen model's path (None: the engine's default); a model that is no longer in the
    folder is an error naming it, never a silent switch to another file."""
    name = settings.model_file.strip()
    if not name:
        return None
    folder = model_folder(context)
    if not folder:
        raise SourceError(f"model '{name}': no model folder is set (Preferences > Add-ons > "
                          "billow > Model folder), or clear Model for the engine's default")
    if name not in model_files(context):
        raise SourceError(f"model '{name}' is not in the model folder {folder} (moved or "
                          "deleted?): put it back, or pick another Model")
    return str(Path(folder) / name)


def _velocity_name(info, kind: str) -> str:
    """The velocity grid's name in the output (the engine keeps the input's base name)."""
    if info is not None:
        for g in info.grids:
            if g.lower() in VELOCITY_NAMES:
                return g
        for g in info.grids:
            base, _, axis = g.rpartition(".") if "." in g else g.rpartition("_")
            if axis.lower() == "x" and base.lower() in VELOCITY_NAMES:
                return base
    return "velocity" if kind == "DOMAIN" else "vel"


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
    version = 0
    if role == "upres":  # a new version folder per run (scene.fresh_volume says why); Resume
        version = settings.output_runs  # continues the last one
        if not (settings.skip_existing and version > 0):
            version += 1
    out = output_pattern(source, settings.output_folder, int(settings.scale), tag, version)
    if version:
        settings.output_runs = version
    device = prefs(context).device if settings.device == "DEFAULT" else settings.device
    fps = scene.render.fps / (scene.render.fps_base or 1.0)
    info = cache_info(source)
    up, why = cache_up_axis(source, settings.up_axis, info)
    wanted = [role for role, on in (("temperature", settings.pass_heat),
                                    ("flame", settings.pass_flame),
                                    ("color", settings.pass_color)) if on]
    req = UpresRequest(source.pattern, out, tuple(frames) if frames else None,
                       model_path(context, settings), int(settings.scale), settings.detail,
                       mask, device, up, fps, source.time_scale,
                       skip_existing=settings.skip_existing and role == "upres",
                       pass_through=tuple(pass_through_roles(source, wanted, info)),
                       write_velocity=settings.write_velocity)
    engine = prefs(context).engine
    prefix = engine_prefix(bpy.path.abspath(engine) if engine else "")
    argv = upres_argv(prefix, req)
    velocity = _velocity_name(info, source.kind) if settings.write_velocity else ""
    return Plan(source, req, argv, frames, role, prefix, velocity, why)


def start_job(context, plan: Plan):
    """A preview on the warm engine (started here the first time); an Upres on the warm engine
    when one is running (a batch script's Upres leaves no engine process behind), else in a new
    engine process. `job.via` names which, for the status line and the report."""
    if prefs(context).warm_engine:
        from . import warm

        try:
            server = (warm.server(context, plan.prefix, plan.request.model)
                      if plan.role == "preview" else warm.running(plan.prefix))
            if server is not None:
                return ServerJob(server, plan.argv[len(plan.prefix):]).start()
        except ServerError as e:
            print(f"billow: warm engine unavailable ({e}); starting a new engine process")
    return EngineJob(plan.argv, plan.request.output_pattern).start()


def apply_result(context, plan: Plan, snap, via: str = ""):
    """The finished run -> (report level, message, output object or None); `via` (the job's)
    says which engine ran it."""
    if snap.state == "cancelled":
        return ("WARNING", f"billow: cancelled; {snap.done} of {snap.total} frames were "
                f"written to {plan.request.output_pattern} (tick Resume to continue)", None)
    if snap.state != "done":
        return "ERROR", f"billow {plan.role} failed: {snap.error}", None
    try:
        obj = load_output(plan.source, plan.request.output_pattern, plan.frames, plan.role,
                          velocity_grid=plan.velocity_grid,
                          density=plan.source.obj.billow.material_density)
    except SourceError as e:
        return "ERROR", str(e), None
    if plan.role == "preview":
        _remove_old_previews(plan)
    else:
        remove_old_versions(plan.request.output_pattern)
    return ("INFO", f"billow: {obj.name} <- {snap.done} frame{'s' * (snap.done != 1)} in "
            f"{snap.elapsed:.1f} s" + (f" ({via})" if via else ""), obj)


def finish(op, context, plan: Plan, snap, via: str = "") -> set:
    """Turn the final status into objects or a report."""
    level, message, obj = apply_result(context, plan, snap, via)
    op.report({level}, message)
    if obj is None:
        return {"CANCELLED"}
    for o in context.view_layer.objects if context.view_layer else ():
        o.select_set(o == obj)
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
        job = start_job(context, plan)
        return finish(self, context, plan, job.wait(), job.via)

    def invoke(self, context, event):
        self.plan = self._plan(context)
        if self.plan is None:
            return {"CANCELLED"}
        self.job = start_job(context, self.plan)
        _ACTIVE[self.plan.source.obj.name] = self.job
        wm = context.window_manager
        self.timer = wm.event_timer_add(0.2, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _show(self, context, text: str | None, fraction: float = 0.0) -> None:
        context.window_manager.billow_status = text or ""
        context.window_manager.billow_progress = fraction
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
            self._show(context, snap.text(f"billow {self.role} ({self.job.via})"), snap.fraction)
            return {"PASS_THROUGH"}
        self._end(context)
        return finish(self, context, self.plan, snap, self.job.via)

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


class BILLOW_OT_detail_preset(bpy.types.Operator):
    """Set Detail to a preset value"""

    bl_idname = "billow.detail_preset"
    bl_label = "Detail Preset"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}
    value: bpy.props.FloatProperty(min=0.0, max=3.0)

    @classmethod
    def poll(cls, context):
        return is_smoke_input(context.active_object)

    def execute(self, context):
        context.active_object.billow.detail = self.value
        return {"FINISHED"}


CLASSES = (BILLOW_OT_upres, BILLOW_OT_preview, BILLOW_OT_detail_preset)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for job in list(_ACTIVE.values()):
        job.cancel()
    _ACTIVE.clear()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
