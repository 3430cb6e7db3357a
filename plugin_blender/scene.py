"""Blender side of a run: what the input is (a Volume object's VDB sequence or a Mantaflow
domain's cache) and the output Volume object (created or updated in place)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import bpy
from mathutils import Matrix, Vector

from .core.frames import (
    Sequence,
    clean_name,
    discover,
    file_for,
    mantaflow_pattern,
    pattern_from_file,
)

MATERIAL = "billow Smoke"


class SourceError(ValueError):
    """The selected object is not a usable smoke input; the message says what to fix."""


@dataclass
class Source:
    obj: bpy.types.Object
    pattern: str                 # engine input pattern (`####`) or a single file
    is_sequence: bool
    seq: Sequence                # scene frame <-> file frame
    available: list = field(default_factory=list)  # file frames that exist
    cache_matrix: Matrix = field(default_factory=Matrix)  # cache world -> Blender world
    time_scale: float | None = None
    kind: str = "VOLUME"         # VOLUME | DOMAIN


def fluid_domain(obj):
    for mod in getattr(obj, "modifiers", ()):
        if mod.type == "FLUID" and mod.fluid_type == "DOMAIN":
            return mod.domain_settings
    return None


def is_smoke_input(obj) -> bool:
    return obj is not None and (obj.type == "VOLUME" or fluid_domain(obj) is not None)


def resolve_source(obj) -> Source:
    if obj is None:
        raise SourceError("select a Volume object or a smoke domain")
    ds = fluid_domain(obj)
    if ds is not None:
        return _domain_source(obj, ds)
    if obj.type != "VOLUME":
        raise SourceError(f"{obj.name}: not a Volume object or a fluid domain")
    if obj.get("billow_role"):
        raise SourceError(f"{obj.name}: is a billow output; select the original smoke object")
    vol = obj.data
    if not vol.filepath:
        raise SourceError(f"{obj.name}: the volume has no VDB file (Object Data > OpenVDB File)")
    path = bpy.path.abspath(vol.filepath, library=vol.library)
    if vol.is_sequence:
        pattern, _ = pattern_from_file(path)
        if "#" not in Path(pattern).name:
            raise SourceError(f"{path}: a sequence, but the file name has no frame number")
        available = discover(pattern)
        if not available:
            raise SourceError(f"{pattern}: no files match this sequence")
        seq = Sequence(vol.frame_start, vol.frame_offset, vol.frame_duration)
        return Source(obj, pattern, True, seq, available, obj.matrix_world.copy())
    if not os.path.isfile(path):
        raise SourceError(f"{path}: no such file")
    return Source(obj, path, False, Sequence(), [], obj.matrix_world.copy())


def _domain_source(obj, ds) -> Source:
    if ds.domain_type != "GAS":
        raise SourceError(f"{obj.name}: a liquid domain; billow upres works on smoke (Gas)")
    if ds.cache_data_format != "OPENVDB":
        raise SourceError(f"{obj.name}: the cache format is {ds.cache_data_format.title()}; set "
                          "Physics > Fluid > Cache > Format Volumes to OpenVDB and bake again")
    if ds.use_adaptive_domain:
        raise SourceError(f"{obj.name}: adaptive domains move the cache grid every frame; turn "
                          "Adaptive Domain off and bake again")
    cache = bpy.path.abspath(ds.cache_directory)
    pattern = mantaflow_pattern(cache)
    available = discover(pattern)
    if not available:
        raise SourceError(f"{pattern}: no baked OpenVDB frames in this cache folder (bake the "
                          "domain first)")
    # Mantaflow writes the cache in the domain's world-size units from its lower corner;
    # place that corner (and the domain's rotation) in the scene. Untested against a real bake:
    # the bpy wheel cannot bake Mantaflow (see the README's limits).
    corner = obj.matrix_world @ Vector(min(c[i] for c in obj.bound_box) for i in range(3))
    rot = obj.matrix_world.to_quaternion().to_matrix().to_4x4()
    matrix = Matrix.Translation(corner) @ rot
    return Source(obj, pattern, True, Sequence(1, 0, 0), available, matrix,
                  time_scale=ds.time_scale, kind="DOMAIN")


def output_pattern(source: Source, folder: str, scale: int, tag: str = "") -> str:
    """`<folder>/<object>/<object>_x4.####.vdb` (a single file for a single-file input)."""
    if not folder:
        raise SourceError("set an output folder")
    if folder.startswith("//") and not bpy.data.filepath:
        raise SourceError("the output folder is relative (//) but the .blend is not saved: "
                          "save it, or choose an absolute output folder")
    name = clean_name(source.obj.name)
    base = Path(bpy.path.abspath(folder)) / name
    stem = f"{name}_x{scale}{tag}"
    return str(base / (f"{stem}.####.vdb" if source.is_sequence else f"{stem}.vdb"))


def smoke_material():
    mat = bpy.data.materials.get(MATERIAL)
    if mat is not None:
        return mat
    mat = bpy.data.materials.new(MATERIAL)
    mat.use_nodes = True
    nodes = mat.node_tree.nodes
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    vol = nodes.new("ShaderNodeVolumePrincipled")
    vol.location = (-300, 0)
    mat.node_tree.links.new(vol.outputs["Volume"], out.inputs["Volume"])
    return mat


def _blend_path(path: str) -> str:
    if bpy.data.filepath:
        try:
            return bpy.path.relpath(path)
        except ValueError:  # another drive on Windows
            pass
    return path


def load_output(source: Source, pattern: str, frames: list, role: str = "upres",
                hide_input: bool = True):
    """Create or update (in place) the Volume object showing `pattern`: same timing as the
    input (clipped to the frames written), the cache placed like the input, a smoke material.
    `role` is upres or preview; one object per input and role."""
    name = f"{source.obj.name}_billow" + ("_preview" if role == "preview" else "")
    obj = next((o for o in bpy.data.objects if o.get("billow_input") == source.obj.name
                and o.get("billow_role") == role and o.type == "VOLUME"), None)
    if obj is None:
        vol = bpy.data.volumes.new(name)
        obj = bpy.data.objects.new(name, vol)
        collections = source.obj.users_collection or (bpy.context.scene.collection,)
        collections[0].objects.link(obj)
        obj["billow_input"], obj["billow_role"] = source.obj.name, role
    vol = obj.data
    if source.is_sequence and role == "upres":
        first, last = min(frames), max(frames)
        seq = source.seq.restricted(first, last)
        vol.filepath = _blend_path(file_for(pattern, first))
        vol.is_sequence = True
        vol.frame_start, vol.frame_offset, vol.frame_duration = seq.start, seq.offset, seq.duration
        if source.kind == "VOLUME":
            vol.sequence_mode = source.obj.data.sequence_mode
    else:
        vol.filepath = _blend_path(file_for(pattern, frames[0]) if frames else pattern)
        vol.is_sequence = False
    vol.grids.unload()
    bpy.context.view_layer.update()  # the volume learns the scene frame when evaluated
    scene_frame = bpy.context.scene.frame_current
    shown = (not vol.is_sequence
             or vol.frame_start <= scene_frame < vol.frame_start + vol.frame_duration)
    if shown and not vol.grids.load():  # outside the sequence there is nothing to check
        raise SourceError(f"{vol.filepath}: Blender cannot load the output "
                          f"({vol.grids.error_message})")
    obj.matrix_world = source.cache_matrix
    if not vol.materials:
        vol.materials.append(smoke_material())
    obj.hide_render = False
    _set_hidden(obj, False)
    if hide_input:
        _set_hidden(source.obj, True)
        source.obj.hide_render = True
    return obj


def _set_hidden(obj, hidden: bool) -> None:
    try:
        obj.hide_set(hidden)
    except RuntimeError:  # not in the current view layer
        obj.hide_viewport = hidden
