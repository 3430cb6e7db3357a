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

_MODEL_ITEMS: list = []  # Blender needs dynamic enum items kept alive on the Python side


def model_items(self, context):
    items = [("DEFAULT", "Engine default", "The model shipped with the engine")]
    folder = ""
    try:
        folder = bpy.path.abspath(prefs(context).model_folder)
    except KeyError:
        pass
    if folder and Path(folder).is_dir():
        for i, path in enumerate(sorted(Path(folder).glob("*.onnx")), start=1):
            items.append((path.name, path.stem, str(path), i))
    _MODEL_ITEMS[:] = items
    return _MODEL_ITEMS


def _is_empty(self, obj):
    return obj.type == "EMPTY"


class BILLOW_ObjectSettings(bpy.types.PropertyGroup):
    model: EnumProperty(name="Model", items=model_items,
                        description="ONNX model from the model folder (preferences)")
    scale: EnumProperty(name="Scale", default="4",
                        items=[("4", "4x", "Four times the resolution on each axis"),
                               ("8", "8x", "Eight times (the 4x model applied twice)")])
    detail: FloatProperty(
        name="Detail", default=1.0, min=0.0, max=3.0, soft_min=0.0, soft_max=3.0, step=10,
        description="Velocity scale fed to the network (dissertation Sec. 3.5.2): 0 suppresses "
        "the invented detail, 1 is as trained, 2-3 exaggerates it")
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
    preview_runs: IntProperty(default=0, options={"HIDDEN"})


CLASSES = (BILLOW_ObjectSettings,)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Object.billow = PointerProperty(type=BILLOW_ObjectSettings)
    bpy.types.WindowManager.billow_status = StringProperty(default="", options={"SKIP_SAVE"})


def unregister():
    del bpy.types.WindowManager.billow_status
    del bpy.types.Object.billow
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
