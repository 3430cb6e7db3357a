"""Per-object upres settings (`Object.billow`): each smoke object keeps its own Detail, mask and
output, so art direction survives in the .blend. `WindowManager.billow_status` is the status
line the panel shows while a run is going."""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from .preferences import prefs

def model_folder(context=None) -> str:
    """The preferences' model folder, absolute ('' when unset)."""
    try:
        folder = prefs(context).model_folder
    except KeyError:  # the add-on is being unregistered
        return ""
    return bpy.path.abspath(folder) if folder else ""


def model_files(context=None) -> list[str]:
    """The .onnx model file names in the model folder, sorted; NAME.core.onnx files are part
    of the model NAME.onnx (its core-only graph), not models."""
    folder = model_folder(context)
    if not folder or not Path(folder).is_dir():
        return []
    return sorted(p.name for p in Path(folder).glob("*.onnx")
                  if not p.name.endswith(".core.onnx"))


def model_search(self, context, edit_text):
    """Suggestions for the Model field: the folder's models (the field keeps a file name, so
    a model added to or removed from the folder never changes another object's choice)."""
    text = edit_text.lower()
    return [(name, str(Path(model_folder(context)) / name)) for name in model_files(context)
            if text in name.lower()]


DETAIL_PRESETS = (("Calm", 0.0, "No invented detail: the network's smooth upres"),
                  ("As Trained", 1.0, "The detail the model was trained to add"),
                  ("Wispy", 2.0, "Exaggerated small-scale detail"))


def _live_changed(self, context):
    from . import live

    live.ensure_timer()


def _is_empty(self, obj):
    return obj.type == "EMPTY"


class BILLOW_ObjectSettings(bpy.types.PropertyGroup):
    model_file: StringProperty(
        name="Model", default="", search=model_search, search_options={"SORT"},
        description="File name of an ONNX model in the model folder (preferences), kept by "
        "name; empty: the model shipped with the engine")
    scale: EnumProperty(name="Scale", default="4",
                        items=[("4", "4x", "Four times the resolution on each axis"),
                               ("8", "8x", "Eight times (the 4x model applied twice)")])
    detail: FloatProperty(
        name="Detail", default=1.0, min=0.0, max=3.0, soft_min=0.0, soft_max=3.0, step=10,
        description="How much detail the network invents, following the smoke's speed "
        "(the engine's --velocity-scale, dissertation Sec. 3.5.2): 0 suppresses it, 1 is as "
        "trained, 2-3 exaggerates it")
    mask_object: PointerProperty(
        name="Detail Mask", type=bpy.types.Object, poll=_is_empty,
        description="Optional Sphere or Cube empty: Detail applies inside it, fading to "
        "'as trained' over the falloff distance outside")
    mask_falloff: FloatProperty(name="Falloff", default=0.0, min=0.0, subtype="DISTANCE",
                                description="Width of the smooth fade outside the mask")
    frame_mode: EnumProperty(
        name="Frames", default="ALL",
        items=[("ALL", "All Cached", "Every frame of the input cache"),
               ("SCENE", "Scene Range", "The scene's start to end frames"),
               ("CUSTOM", "Custom", "A range of scene frames")])
    frame_start: IntProperty(name="Start", default=1)
    frame_end: IntProperty(name="End", default=250)
    device: EnumProperty(name="Device", default="DEFAULT",
                         items=[("DEFAULT", "Preferences", "The preferences' default device"),
                                ("cpu", "CPU", ""), ("cuda", "CUDA GPU", "")])
    output_folder: StringProperty(
        name="Output", subtype="DIR_PATH", default="//billow/",
        description="Folder for the upres'd VDB sequence (a subfolder per object is made)")
    skip_existing: BoolProperty(
        name="Resume", default=False,
        description="Keep output frames that already exist (continue a cancelled run)")
    up_axis: EnumProperty(
        name="Up Axis", default="AUTO",
        items=[("AUTO", "Auto", "From the cache's billow_up_axis metadata, else from the "
                "object's rotation (a cache stood up with +90 degrees about X is y-up)"),
               ("Y", "Y", "The cache is y-up (Houdini, OpenVDB tools)"),
               ("Z", "Z", "The cache is z-up (Blender, Mantaflow)")],
        description="Which axis of the cache points up (the model was trained y-up)")
    pass_flame: BoolProperty(name="Flame", default=True,
                             description="Upsample the input's flame grid into the output")
    pass_heat: BoolProperty(name="Heat", default=True,
                            description="Upsample the input's heat/temperature grid into the "
                            "output")
    pass_color: BoolProperty(name="Color", default=True,
                             description="Upsample the input's color grid into the output")
    write_velocity: BoolProperty(
        name="Velocity (Motion Blur)", default=False,
        description="Also write the upsampled velocity; the output then has motion blur "
        "when Render > Motion Blur is on")
    material_density: FloatProperty(
        name="Smoke Density", default=5.0, min=0.0, soft_max=50.0,
        description="Density multiplier of the shared 'billow Smoke' material, used by the "
        "input and the output when the input has no material of its own (0-1 simulations "
        "need about 5 to read as smoke)")
    live_preview: BoolProperty(
        name="Live Preview", default=False, options={"SKIP_SAVE"}, update=_live_changed,
        description="Keep a preview of the current frame up to date while Detail, the mask or "
        "the frame change (the warm engine re-runs it after a short pause)")
    preview_runs: IntProperty(default=0, options={"HIDDEN"})
    output_runs: IntProperty(default=0, options={"HIDDEN"},
                             description="Version folder of the last Upres (v001, v002...)")


CLASSES = (BILLOW_ObjectSettings,)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Object.billow = PointerProperty(type=BILLOW_ObjectSettings)
    bpy.types.WindowManager.billow_status = StringProperty(default="", options={"SKIP_SAVE"})
    bpy.types.WindowManager.billow_progress = FloatProperty(
        name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR",
        options={"SKIP_SAVE"})


def unregister():
    del bpy.types.WindowManager.billow_progress
    del bpy.types.WindowManager.billow_status
    del bpy.types.Object.billow
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
