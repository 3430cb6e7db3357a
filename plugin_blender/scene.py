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

from .core.vdb_meta import VdbInfoError, auto_up_axis, read_info, roles_present

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


def first_file(source: Source) -> str:
    return file_for(source.pattern, source.available[0]) if source.is_sequence else source.pattern


def cache_info(source: Source):
    """The first cache file's grid names and metadata (None when the header is unreadable:
    the engine then reports the problem with the file)."""
    try:
        return read_info(first_file(source))
    except VdbInfoError:
        return None


def cache_up_axis(source: Source, setting: str = "AUTO", info=None) -> tuple[str, str]:
    """(up axis, why) of the cache: the panel's choice, else Mantaflow's z, else auto."""
    if setting in ("Y", "Z"):
        return setting.lower(), "panel"
    if source.kind == "DOMAIN":
        return "z", "Mantaflow cache"
    info = info if info is not None else cache_info(source)
    declared = info.meta("billow_up_axis") if info is not None else None
    return auto_up_axis(declared, [list(r) for r in source.cache_matrix])


def pass_through_roles(source: Source, wanted: list[str], info=None) -> list[str]:
    """The wanted pass-through roles the cache has (all wanted when it cannot be read)."""
    info = info if info is not None else cache_info(source)
    if info is None or not info.grids:
        return list(wanted)
    have = roles_present(info.grids)
    return [w for w in wanted if w in have]


def output_pattern(source: Source, folder: str, scale: int, tag: str = "",
                   version: int = 0) -> str:
    """`<folder>/<object>/v003/<object>_x4.####.vdb` (a single file for a single-file input;
    without the version folder when `version` is 0)."""
    if not folder:
        raise SourceError("set an output folder")
    if folder.startswith("//") and not bpy.data.filepath:
        raise SourceError("the output folder is relative (//) but the .blend is not saved: "
                          "save it, or choose an absolute output folder")
    name = clean_name(source.obj.name)
    base = Path(bpy.path.abspath(folder)) / name
    if version:
        base = base / f"v{version:03d}"
    stem = f"{name}_x{scale}{tag}"
    return str(base / (f"{stem}.####.vdb" if source.is_sequence else f"{stem}.vdb"))


def smoke_material(density: float = 5.0):
    """The shared 'billow Smoke' material: a Principled Volume reading `density` (and, when the
    cache has them, `flame` and `temperature`/`heat` for emission, `color` for colour, as
    Blender's own smoke material does), its Density set from the panel."""
    mat = bpy.data.materials.get(MATERIAL)
    if mat is None:
        mat = bpy.data.materials.new(MATERIAL)
        mat.use_nodes = True
        nodes = mat.node_tree.nodes
        nodes.clear()
        out = nodes.new("ShaderNodeOutputMaterial")
        vol = nodes.new("ShaderNodeVolumePrincipled")
        vol.location = (-300, 0)
        mat.node_tree.links.new(vol.outputs["Volume"], out.inputs["Volume"])
    vol = next((n for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeVolumePrincipled"),
               None)
    if vol is not None:
        vol.inputs["Density"].default_value = density
    return mat


def _materials_of(obj) -> list:
    return [m for m in getattr(obj.data, "materials", ()) if m is not None]


def share_material(source: Source, vol, density: float) -> None:
    """The output renders with the input's own material, so both read the same grids with the
    same shader and match in brightness; an input without one gets the billow Smoke material
    too. A material the artist set on the output is kept; the billow preset follows the panel's
    Smoke Density."""
    theirs = _materials_of(source.obj)
    if not theirs:
        mat = smoke_material(density)
        if hasattr(source.obj.data, "materials"):
            source.obj.data.materials.append(mat)
        theirs = [mat]
    elif MATERIAL in bpy.data.materials and theirs[0].name == MATERIAL:
        smoke_material(density)
    if not [m for m in vol.materials if m is not None]:
        vol.materials.clear()
        vol.materials.append(theirs[0])


def _blend_path(path: str) -> str:
    if bpy.data.filepath:
        try:
            return bpy.path.relpath(path)
        except ValueError:  # another drive on Windows
            pass
    return path


def _copy_rna(src, dst) -> None:
    for prop in src.bl_rna.properties:
        if prop.identifier in ("rna_type", "name") or prop.is_readonly:
            continue
        try:
            setattr(dst, prop.identifier, getattr(src, prop.identifier))
        except (AttributeError, TypeError, ValueError):
            pass


def fresh_volume(obj, base: str, configure=None):
    """Give `obj` a new Volume datablock, `<base>_v<N>` with N counting up per object, with the
    old one's settings and materials; the old one is removed.

    A re-run writes into a new version folder (operators.make_plan): Blender caches what it
    loaded from a VDB file by path, and neither re-setting the filepath, `grids.unload()/load()`
    nor a new datablock over the same (rewritten) files reliably shows the new voxels in the
    same session (Blender 5.0). The new datablock keeps the object's data free of the old
    sequence settings; names count up (`<base>_v<N>`) because a new datablock given the old
    one's name rendered the old voxels too."""
    old = obj.data
    version = int(obj.get("billow_data_version", 0)) + 1
    obj["billow_data_version"] = version
    new = bpy.data.volumes.new(f"{base}_v{version}")
    new.velocity_scale = old.velocity_scale
    _copy_rna(old.render, new.render)
    _copy_rna(old.display, new.display)
    for m in old.materials:
        new.materials.append(m)
    if configure is not None:  # files and timing set before the object shows the datablock
        configure(new)
    obj.data = new
    if old.users == 0:
        bpy.data.volumes.remove(old)
    return new


def _find_output(source: Source, role: str):
    return next((o for o in bpy.data.objects if o.get("billow_input") == source.obj.name
                 and o.get("billow_role") == role and o.type == "VOLUME"), None)


def load_output(source: Source, pattern: str, frames: list, role: str = "upres",
                hide_input: bool = True, velocity_grid: str = "", density: float = 5.0):
    """Create or update the Volume object showing `pattern`: same timing as the input (clipped
    to the frames written), parented to the input (it follows it), sharing its material. `role`
    is upres or preview; one object per input and role; a preview hides the full result (and
    the full result the preview). `velocity_grid`: the output's velocity grid (motion blur)."""
    name = f"{source.obj.name}_billow" + ("_preview" if role == "preview" else "")
    obj = _find_output(source, role)
    if obj is None:
        vol = bpy.data.volumes.new(name)
        obj = bpy.data.objects.new(name, vol)
        collections = source.obj.users_collection or (bpy.context.scene.collection,)
        collections[0].objects.link(obj)
        obj["billow_input"], obj["billow_role"] = source.obj.name, role

    def configure(vol):
        if source.is_sequence and role == "upres":
            first, last = min(frames), max(frames)
            seq = source.seq.restricted(first, last)
            vol.filepath = _blend_path(file_for(pattern, first))
            vol.is_sequence = True
            vol.frame_start, vol.frame_offset = seq.start, seq.offset
            vol.frame_duration = seq.duration
            if source.kind == "VOLUME":
                vol.sequence_mode = source.obj.data.sequence_mode
        else:
            vol.filepath = _blend_path(file_for(pattern, frames[0]) if frames else pattern)
            vol.is_sequence = False
        if velocity_grid:  # Blender then blurs the volume along it when motion blur is on
            vol.velocity_grid, vol.velocity_unit = velocity_grid, "SECOND"

    vol = fresh_volume(obj, name, configure)
    bpy.context.view_layer.update()  # the volume learns the scene frame when evaluated
    scene_frame = bpy.context.scene.frame_current
    shown = (not vol.is_sequence
             or vol.frame_start <= scene_frame < vol.frame_start + vol.frame_duration)
    if shown and not vol.grids.load():  # outside the sequence there is nothing to check
        raise SourceError(f"{vol.filepath}: Blender cannot load the output "
                          f"({vol.grids.error_message})")
    # parented to the input: moving or animating the input moves the result
    obj.parent = source.obj
    obj.matrix_parent_inverse = Matrix.Identity(4)
    try:
        obj.matrix_basis = source.obj.matrix_world.inverted() @ source.cache_matrix
    except ValueError:  # a zero-scale input: keep the world placement
        obj.matrix_world = source.cache_matrix
    share_material(source, vol, density)
    obj.hide_render = False
    _set_hidden(obj, False)
    other = _find_output(source, "upres" if role == "preview" else "preview")
    if other is not None:
        other.hide_render = True
        _set_hidden(other, True)
    if hide_input:
        _set_hidden(source.obj, True)
        source.obj.hide_render = True
    return obj


def remove_old_versions(pattern: str) -> None:
    """After a re-run loaded: the earlier version folders' VDB files of this object (the
    folders `v<N>` beside the current one; nothing else is touched)."""
    current = Path(pattern).parent
    if not current.name.startswith("v") or not current.name[1:].isdigit():
        return
    for folder in current.parent.glob("v[0-9]*"):
        if folder == current or not folder.is_dir() or not folder.name[1:].isdigit():
            continue
        for f in folder.glob("*.vdb"):
            try:
                f.unlink()
            except OSError:
                pass
        try:
            folder.rmdir()
        except OSError:  # something else is in it: leave it
            pass


def _set_hidden(obj, hidden: bool) -> None:
    try:
        obj.hide_set(hidden)
    except RuntimeError:  # not in the current view layer
        obj.hide_viewport = hidden
