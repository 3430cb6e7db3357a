"""The Blender side of `billow uv synth`: builds the scene and renders every frame.

Runs only inside a separate Python process that imported Blender's `bpy` wheel (see
`render.py`), which passes the module in: the engine itself never imports `bpy`. For each frame
it writes, into a scratch folder, three images that the parent process turns into the
benchmark's files and then announces on stdout as `BILLOW_FRAME <n>`:

- `rgb.<n>.png`: the textured figure (Emission shader, so colour is a texture lookup), antialiased
  with `samples` samples and a `filter_width` Blackman-Harris pixel filter, 8-bit RGBA;
- `uv.<n>.exr`: a float render of (u, v, object id / 2, coverage) through a material override,
  1 sample and a 0.01-pixel filter: a point sample at each pixel centre, so UVs are never
  averaged across a silhouette or a seam between tiles (the filtered UV pass would be);
- `body.<n>.exr`: the same with the skirt hidden: the legs a DensePose model would guess there.

Colour management is `Raw` and the texture `Non-Color`, so the RGB render stores the texture's
own 8-bit values: a bilinear lookup of texture.png at the UVs reproduces it up to antialiasing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from . import figure

BODY_ID, SKIRT_ID = 1, 2
CAMERA = {"location": (0.0, -3.1, 0.93), "rotation": (90.0, 0.0, 0.0), "lens": 50.0,
          "sensor": 36.0}


def _mesh_object(bpy, name: str, mesh: figure.Mesh, index: int):
    data = bpy.data.meshes.new(name)
    data.from_pydata(np.zeros((len(mesh.uv), 3)).tolist(), [], mesh.faces.tolist())
    layer = data.uv_layers.new(name="UVMap")
    loop_vertex = np.empty(len(data.loops), dtype=np.int32)
    data.loops.foreach_get("vertex_index", loop_vertex)
    layer.data.foreach_set("uv", mesh.uv[loop_vertex].ravel())
    obj = bpy.data.objects.new(name, data)
    obj.pass_index = index
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _texture_material(bpy, texture_path: str):
    mat = bpy.data.materials.new("texture")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    image = bpy.data.images.load(texture_path)
    image.colorspace_settings.name = "Non-Color"
    tex = nodes.new("ShaderNodeTexImage")
    tex.image, tex.interpolation, tex.extension = image, "Linear", "EXTEND"
    emit = nodes.new("ShaderNodeEmission")
    out = nodes.new("ShaderNodeOutputMaterial")
    links.new(tex.outputs["Color"], emit.inputs["Color"])
    links.new(emit.outputs["Emission"], out.inputs["Surface"])
    return mat


def _uv_material(bpy):
    mat = bpy.data.materials.new("uv")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    coords = nodes.new("ShaderNodeTexCoord")
    split = nodes.new("ShaderNodeSeparateXYZ")
    info = nodes.new("ShaderNodeObjectInfo")
    half = nodes.new("ShaderNodeMath")
    half.operation, half.inputs[1].default_value = "MULTIPLY", 0.5
    join = nodes.new("ShaderNodeCombineXYZ")
    emit = nodes.new("ShaderNodeEmission")
    out = nodes.new("ShaderNodeOutputMaterial")
    links.new(coords.outputs["UV"], split.inputs["Vector"])
    links.new(split.outputs["X"], join.inputs["X"])
    links.new(split.outputs["Y"], join.inputs["Y"])
    links.new(info.outputs["Object Index"], half.inputs[0])
    links.new(half.outputs["Value"], join.inputs["Z"])
    links.new(join.outputs["Vector"], emit.inputs["Color"])
    links.new(emit.outputs["Emission"], out.inputs["Surface"])
    return mat


def _setup_scene(bpy, cfg: dict):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    render, cycles = scene.render, scene.cycles
    render.engine = "CYCLES"
    cycles.device = "CPU"
    render.resolution_x = render.resolution_y = cfg["size"]
    render.resolution_percentage = 100
    render.film_transparent = True
    render.dither_intensity = 0.0
    render.threads_mode, render.threads = "FIXED", cfg["threads"]
    render.use_motion_blur = False
    cycles.seed, cycles.use_animated_seed = cfg["seed"], False
    cycles.use_adaptive_sampling = False
    cycles.use_denoising = False
    cycles.max_bounces = 0  # emission seen directly is all there is
    cycles.pixel_filter_type = "BLACKMAN_HARRIS"
    scene.view_settings.view_transform = "Raw"
    scene.view_settings.look = "None"
    scene.view_settings.exposure, scene.view_settings.gamma = 0.0, 1.0
    scene.world = bpy.data.worlds.new("black")
    scene.world.color = (0.0, 0.0, 0.0)

    cam_data = bpy.data.cameras.new("camera")
    cam_data.lens, cam_data.sensor_width = CAMERA["lens"], CAMERA["sensor"]
    cam = bpy.data.objects.new("camera", cam_data)
    cam.location = CAMERA["location"]
    cam.rotation_euler = [np.radians(a) for a in CAMERA["rotation"]]
    scene.collection.objects.link(cam)
    scene.camera = cam
    return scene


def _render(bpy, scene, path: Path, *, samples: int, filter_width: float, exr: bool) -> None:
    scene.cycles.samples = samples
    scene.cycles.filter_width = filter_width
    fmt = scene.render.image_settings
    if exr:
        fmt.file_format, fmt.color_mode, fmt.color_depth, fmt.exr_codec = (
            "OPEN_EXR", "RGBA", "32", "ZIP")
    else:
        fmt.file_format, fmt.color_mode, fmt.color_depth, fmt.compression = (
            "PNG", "RGBA", "8", 15)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)


def _set_positions(obj, positions: np.ndarray) -> None:
    obj.data.vertices.foreach_set("co", positions.astype(np.float32).ravel())
    obj.data.update()


def main(bpy, config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    scratch = Path(cfg["scratch"])
    scene = _setup_scene(bpy, cfg)
    body_mesh, skirt_mesh = figure.body_mesh(cfg["detail"]), figure.skirt_mesh(cfg["detail"])
    body = _mesh_object(bpy, "body", body_mesh, BODY_ID)
    skirt = _mesh_object(bpy, "skirt", skirt_mesh, SKIRT_ID)
    textured, uv_mat = _texture_material(bpy, cfg["texture"]), _uv_material(bpy)
    for obj in (body, skirt):
        obj.data.materials.append(textured)
    layer = bpy.context.view_layer
    for frame in cfg["frames"]:
        pose = figure.pose(cfg["motion"], frame)
        _set_positions(body, figure.posed(body_mesh, pose))
        _set_positions(skirt, figure.posed_skirt(skirt_mesh, pose))
        layer.material_override = None
        _render(bpy, scene, scratch / f"rgb.{frame}.png", samples=cfg["samples"],
                filter_width=cfg["filter_width"], exr=False)
        layer.material_override = uv_mat
        _render(bpy, scene, scratch / f"uv.{frame}.exr", samples=1, filter_width=0.01, exr=True)
        if cfg["body_pass"]:
            skirt.hide_render = True
            _render(bpy, scene, scratch / f"body.{frame}.exr", samples=1, filter_width=0.01,
                    exr=True)
            skirt.hide_render = False
        print(f"BILLOW_FRAME {frame}", flush=True)
    sys.stdout.flush()
