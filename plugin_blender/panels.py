"""The panel, in the 3D View sidebar (tab "billow") and on Volume objects / smoke domains in the
Properties editor. Drawing only: no file access beyond what Blender already shows."""

from __future__ import annotations

import bpy

from .properties import DETAIL_PRESETS, model_files
from .scene import fluid_domain, is_smoke_input


def input_label(obj) -> str:
    ds = fluid_domain(obj)
    if ds is not None:
        return f"Mantaflow cache: {ds.cache_directory}"
    vol = obj.data
    kind = "sequence" if vol.is_sequence else "file"
    return f"VDB {kind}: {bpy.path.basename(vol.filepath) or '(none)'}"


def up_axis_label(obj) -> str:
    """What Auto resolves to for `obj` (reads the first cache file's header only)."""
    from .scene import SourceError, cache_up_axis, resolve_source

    try:
        axis, why = cache_up_axis(resolve_source(obj), obj.billow.up_axis)
    except (SourceError, OSError, ValueError):
        return ""
    return f"{axis} ({why})"


def engine_label(context) -> tuple[str, str]:
    """(text, icon): which engine the next run uses, so a cold start is never a surprise."""
    from . import warm
    from .preferences import prefs

    if not prefs(context).warm_engine:
        return "Each run starts a new engine process (warm engine off)", "INFO"
    server = warm.current()
    if server is not None and server.alive:
        return "Warm engine running: Upres and Preview skip start-up", "CHECKMARK"
    return "No warm engine: Upres starts a new process (Preview starts one)", "INFO"


def draw_settings(layout, context, obj) -> None:
    s = obj.billow
    layout.use_property_split = True
    layout.use_property_decorate = False
    col = layout.column()
    col.label(text=input_label(obj), icon="VOLUME_DATA")
    col.prop(s, "model_file", text="Model", icon="FILE")
    if s.model_file and s.model_file not in model_files(context):
        col.label(text=f"{s.model_file} is not in the model folder", icon="ERROR")
    elif not s.model_file:
        col.label(text="Engine default model", icon="BLANK1")
    col.row().prop(s, "scale", expand=True)
    col.prop(s, "detail", slider=True)
    row = col.row(align=True)
    for label, value, _ in DETAIL_PRESETS:
        op = row.operator("billow.detail_preset", text=label,
                          depress=abs(s.detail - value) < 1e-6)
        op.value = value
    col.prop(s, "mask_object")
    sub = col.column()
    sub.active = s.mask_object is not None
    sub.prop(s, "mask_falloff")
    col.prop(s, "up_axis")
    if s.up_axis == "AUTO":
        text = up_axis_label(obj)
        if text:
            col.label(text=f"Up axis: {text}", icon="BLANK1")
    col.prop(s, "frame_mode")
    if s.frame_mode == "CUSTOM":
        row = col.row(align=True)
        row.prop(s, "frame_start")
        row.prop(s, "frame_end")
    col.prop(s, "device")
    col.prop(s, "output_folder")
    col.prop(s, "skip_existing")
    layout.separator()
    col = layout.column(heading="Pass Through")
    row = col.row(align=True)
    row.prop(s, "pass_flame", toggle=True)
    row.prop(s, "pass_heat", toggle=True)
    row.prop(s, "pass_color", toggle=True)
    col.prop(s, "write_velocity")
    col.prop(s, "material_density")
    layout.separator()
    row = layout.row(align=True)
    row.scale_y = 1.4
    row.operator("billow.preview", icon="RESTRICT_RENDER_OFF")
    row.operator("billow.upres", icon="PLAY")
    layout.prop(s, "live_preview", icon="VIEW_CAMERA")
    text, icon = engine_label(context)
    layout.label(text=text, icon=icon)
    wm = context.window_manager
    status = wm.billow_status
    if status:
        if 0.0 < wm.billow_progress < 1.0 and hasattr(layout, "progress"):
            layout.progress(factor=wm.billow_progress, type="BAR", text=status)
        else:
            layout.label(text=status, icon="TIME")


class _BillowPanel:
    bl_label = "billow Upres"

    def draw(self, context):
        obj = context.active_object if self.bl_space_type == "VIEW_3D" else context.object
        if obj is not None and obj.get("billow_role"):
            self.layout.label(text=f"Output of {obj.get('billow_input')}: select that object",
                              icon="INFO")
            return
        if not is_smoke_input(obj):
            self.layout.label(text="Select a Volume object or a smoke domain", icon="INFO")
            return
        draw_settings(self.layout, context, obj)


class VIEW3D_PT_billow(_BillowPanel, bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "billow"


class DATA_PT_billow_volume(_BillowPanel, bpy.types.Panel):
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "data"

    @classmethod
    def poll(cls, context):
        return context.object is not None and context.object.type == "VOLUME"


class PHYSICS_PT_billow_domain(_BillowPanel, bpy.types.Panel):
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "physics"

    @classmethod
    def poll(cls, context):
        return context.object is not None and fluid_domain(context.object) is not None


CLASSES = (VIEW3D_PT_billow, DATA_PT_billow_volume, PHYSICS_PT_billow_domain)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
