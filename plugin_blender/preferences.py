"""Add-on preferences: where the engine is, the default device, the model folder."""

from __future__ import annotations

import bpy
from bpy.props import EnumProperty, StringProperty

from .core.command import check_engine

DEVICES = [("cpu", "CPU", "Run the network on the CPU"),
           ("cuda", "CUDA GPU", "Run the network on an NVIDIA GPU (onnxruntime-gpu)")]


def prefs(context=None):
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences


class BILLOW_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    engine: StringProperty(
        name="Engine", subtype="FILE_PATH", default="",
        description="The `billow` executable of the Python environment where billow is "
        "installed, or that environment's python, or its folder; empty: `billow` on PATH")
    device: EnumProperty(name="Default device", items=DEVICES, default="cpu",
                         description="Device for the network unless a smoke object says otherwise")
    model_folder: StringProperty(
        name="Model folder", subtype="DIR_PATH", default="",
        description="Folder of ONNX models (each with its .json card) offered in the panel; "
        "empty: only the engine's shipped model")
    warm_engine: bpy.props.BoolProperty(
        name="Warm engine", default=True,
        description="Keep one engine process running with the model loaded (started at the "
        "first preview, ended with Blender), so Preview, Live Preview and Upres re-runs skip "
        "the engine's start-up; off: a new engine process per run")
    check_result: StringProperty(name="Check result", default="", options={"SKIP_SAVE"})
    check_ok: bpy.props.BoolProperty(default=False, options={"SKIP_SAVE"})

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "engine")
        layout.prop(self, "device")
        layout.prop(self, "model_folder")
        layout.prop(self, "warm_engine")
        row = layout.row()
        row.operator("billow.check_engine", icon="CHECKMARK")
        if self.check_result:
            box = layout.box()
            icon = "CHECKMARK" if self.check_ok else "ERROR"
            for i, line in enumerate(self.check_result.splitlines()):
                box.label(text=line, icon=icon if i == 0 else "BLANK1")


class BILLOW_OT_check_engine(bpy.types.Operator):
    """Run `billow --version` with the configured engine and show the result or the problem"""

    bl_idname = "billow.check_engine"
    bl_label = "Check Engine"

    def execute(self, context):
        p = prefs(context)
        ok, text = check_engine(bpy.path.abspath(p.engine) if p.engine else "")
        p.check_ok, p.check_result = ok, text
        if ok:
            self.report({"INFO"}, text.splitlines()[0])
            return {"FINISHED"}
        self.report({"ERROR"}, text)
        return {"CANCELLED"}


CLASSES = (BILLOW_AddonPreferences, BILLOW_OT_check_engine)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
