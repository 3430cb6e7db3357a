"""Render one frame of an out-of-family set with Blender Cycles, one panel per method side by
side (input, tricubic, upres models, the true high-res reference), with the same material,
camera, light and exposure for every panel, and a label above each. Artists judge upres from
renders, not slices: this shows whether a model's detail reads as smoke or as dark pits, rims and
4-voxel blocks once it is lit.

    python benchmarks/ood_render.py --set-dir /work/data/ood/ood_dense_128 \\
        --eval-dir /work/data/ood_eval/ood_dense_128 --frame 10 \\
        --methods input,tricubic,s6,s28c,reference \\
        --labels "input 32^3,tricubic,previous default,billow s28c,reference 128^3" \\
        --out docs/results/ood_render_dense_f10.png

`input` is the set's `vdb/sim_0000/lr.NNNN.vdb`, `reference` its `hr.NNNN.vdb`; any other name
is a folder of --eval-dir holding one `*.NNNN.vdb` per frame. Set-up: Cycles on the CPU, fixed
seed, no denoising, no adaptive sampling, Standard view transform; the add-on's shared
'billow Smoke' material (`plugin_blender.scene.smoke_material`, a Principled Volume reading
`density`, called as a plain function: the add-on is not registered) at Density --density
(15, not the add-on's 5: dense smoke then shows its internal shadows); one grazing sun from the
right, above and front, and a dim grey world that is also the dark-grey background. Cycles
samples every grid trilinearly, so the 32^3 input looks blurred rather than blocky; at 16
samples the grain of the render hides the finest texture (use --samples 64 for a final).
The orthographic camera frames the union of the files' active-voxel world boxes (printed, with
a warning if the voxel lattices do not share their origin corner). Missing set, method or
frame: one error line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GAP = 4           # pixels between panels
BACKGROUND = 0.03  # world colour (linear): lights the smoke dimly, renders dark grey
SUN = 10.0         # sun strength (W/m^2)


class Missing(Exception):
    """A set, method, frame or grid that is not there: one line, exit 2."""


def find_files(a) -> list[Path]:
    """The VDB of frame `a.frame` for each method, in order; Missing if there is none."""
    set_dir, eval_dir = Path(a.set_dir), Path(a.eval_dir)
    if not (set_dir / "vdb" / "sim_0000").is_dir():
        raise Missing(f"no set at {set_dir} (expected {set_dir}/vdb/sim_0000/)")
    files = []
    for m in a.methods:
        if m in ("input", "reference"):
            f = set_dir / "vdb" / "sim_0000" / f"{'lr' if m == 'input' else 'hr'}.{a.frame:04d}.vdb"
            found = [f] if f.is_file() else []
        elif not (eval_dir / m).is_dir():
            raise Missing(f"no method '{m}': {eval_dir / m} is not a folder")
        else:
            found = sorted((eval_dir / m).glob(f"*.{a.frame:04d}.vdb"))
        if len(found) != 1:
            raise Missing(f"method '{m}' has {len(found)} files for frame {a.frame} "
                          f"({eval_dir / m if m not in ('input', 'reference') else set_dir})")
        files.append(found[0])
    return files


def world_boxes(files, names) -> tuple[np.ndarray, np.ndarray]:
    """Print each density grid's voxel size, lattice corner and world box; return the union."""
    from billow.io import list_grids

    boxes, corners, sizes = [], [], []
    for name, f in zip(names, files):
        g = next((i for i in list_grids(f) if i.name == "density"), None)
        if g is None or g.bbox is None:
            raise Missing(f"{f}: no non-empty 'density' grid")
        idx = np.array([[*np.subtract(g.bbox[0], 0.5), 1], [*np.add(g.bbox[1], 0.5), 1]])
        lo, hi = (idx @ g.matrix)[:, :3]
        corner = (np.array([-0.5, -0.5, -0.5, 1]) @ g.matrix)[:3]
        boxes.append((np.minimum(lo, hi), np.maximum(lo, hi)))
        corners.append(corner)
        sizes.append(float(g.voxel_size.max()))
        print(f"{name:>12}: {f.name} voxel {g.voxel_size.round(6).tolist()} lattice corner "
              f"{corner.round(5).tolist()} box {lo.round(4).tolist()} .. {hi.round(4).tolist()}")
    lo = np.min([b[0] for b in boxes], 0)
    hi = np.max([b[1] for b in boxes], 0)
    if np.ptp(corners, 0).max() > 1e-3 * (hi - lo).max():
        print("WARNING: the files' voxel lattices start at different world corners: panels are "
              "not aligned")
    for name, (blo, bhi) in zip(names, boxes):
        if max(np.abs(blo - lo).max(), np.abs(bhi - hi).max()) > 1.5 * max(sizes):
            print(f"WARNING: {name}'s active voxels differ from the union box by more than a "
                  "coarse voxel (smoke cut or spread at an edge?)")
    return lo, hi


def setup_scene(lo, hi, a):
    """Cycles CPU, sun, dim world and an orthographic camera framing the box [lo, hi]."""
    import bpy
    from mathutils import Euler, Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    c = scene.cycles
    c.device, c.samples, c.seed, c.use_animated_seed = "CPU", a.samples, 0, False
    c.use_denoising, c.use_adaptive_sampling = False, False
    scene.render.threads_mode, scene.render.threads = "FIXED", a.threads
    scene.render.resolution_x = scene.render.resolution_y = a.size
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    scene.view_settings.view_transform, scene.view_settings.look = "Standard", "None"
    scene.render.image_settings.file_format, scene.render.image_settings.color_mode = "PNG", "RGB"

    world = bpy.data.worlds.new("W")
    world.use_nodes = True
    bg = world.node_tree.nodes["Background"]
    bg.inputs["Color"].default_value = (BACKGROUND, BACKGROUND, BACKGROUND, 1)
    bg.inputs["Strength"].default_value = 1.0
    scene.world = world
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = SUN
    # y is up (the sets are y-up, loaded unrotated); the light travels along this vector, so it
    # comes from the right (+x), above and a little from the front (+z): grazing, for shadows
    sun.rotation_euler = Vector((-1.0, -0.6, -0.4)).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(sun)

    centre, ext = (lo + hi) / 2, hi - lo
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    cam.data.type, cam.data.clip_end = "ORTHO", 10 * float(ext.max())
    if a.view == "front":  # looks along -z, y up
        cam.data.ortho_scale = 1.06 * float(max(ext[0], ext[1]))
        cam.location = Vector(centre) + Vector((0, 0, 2 * ext.max()))
    else:  # top: looks along -y, x right, +z (front) at the bottom
        cam.data.ortho_scale = 1.06 * float(max(ext[0], ext[2]))
        cam.location = Vector(centre) + Vector((0, 2 * ext.max(), 0))
        cam.rotation_euler = Euler((-np.pi / 2, 0, 0))
    scene.collection.objects.link(cam)
    scene.camera = cam
    return scene


def render_panels(files, a, lo, hi) -> list[np.ndarray]:
    """Each file as a volume object with the shared material, rendered alone: RGB uint8."""
    import bpy
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    scene = setup_scene(lo, hi, a)
    from plugin_blender.scene import smoke_material  # after bpy: the add-on module imports it

    mat = smoke_material(a.density)
    objs = []
    for i, f in enumerate(files):
        vol = bpy.data.volumes.new(f"panel{i}")
        vol.filepath = str(f)
        vol.materials.append(mat)
        obj = bpy.data.objects.new(f"panel{i}", vol)
        scene.collection.objects.link(obj)
        objs.append(obj)
    panels = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, obj) in enumerate(zip(a.methods, objs)):
            for o in objs:
                o.hide_render = o is not obj
            scene.render.filepath = str(Path(tmp) / f"panel{i}.png")
            t = time.perf_counter()
            bpy.ops.render.render(write_still=True)
            panels.append(np.asarray(Image.open(scene.render.filepath).convert("RGB")))
            print(f"{name:>12}: rendered in {time.perf_counter() - t:.1f} s, mean pixel "
                  f"{panels[-1].mean():.1f}")
    return panels


def compose(panels, labels, path) -> None:
    """Panels side by side with GAP pixels between them and a label band above each."""
    from PIL import Image, ImageDraw, ImageFont

    size = panels[0].shape[0]
    band = max(12, size // 10)
    out = np.full((band + size, len(panels) * (size + GAP) - GAP, 3), 255, np.uint8)
    for i, p in enumerate(panels):
        out[band:, i * (size + GAP):i * (size + GAP) + size] = p
    img = Image.fromarray(out)
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=int(band * 0.7))
    except (TypeError, OSError, ImportError):  # no FreeType: the small bitmap font
        font = ImageFont.load_default()
    for i, text in enumerate(labels):
        x = i * (size + GAP) + size / 2
        draw.text((x, band / 2), text, fill=(0, 0, 0), font=font, anchor="mm")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set-dir", required=True)
    ap.add_argument("--eval-dir", required=True)
    ap.add_argument("--frame", type=int, required=True)
    ap.add_argument("--methods", default="input,tricubic,reference")
    ap.add_argument("--labels", default=None, help="comma-separated, one per method")
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=256, help="pixels per panel (square)")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--view", choices=("front", "top"), default="front")
    ap.add_argument("--density", type=float, default=15.0,
                    help="material Density multiplier (all panels)")
    a = ap.parse_args(argv)
    a.methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    labels = [s.strip() for s in a.labels.split(",")] if a.labels else a.methods
    if len(labels) != len(a.methods):
        sys.exit(f"error: {len(labels)} labels for {len(a.methods)} methods")
    try:
        files = find_files(a)
        lo, hi = world_boxes(files, a.methods)
    except Missing as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t = time.perf_counter()
    compose(render_panels(files, a, lo, hi), labels, a.out)
    print(f"wrote {a.out} ({len(files)} panels, {time.perf_counter() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
