"""VDBs written by Blender itself are read correctly, and Blender loads what billow writes.

Blender runs in a subprocess (the `bpy` wheel): it must not share a process with the tests'
OpenVDB objects, and this is how DCCs meet billow's files in practice anyway.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from billow.io import list_grids, read_grid, write_smoke_frame

pytest.importorskip("bpy", reason="Blender's bpy wheel is not installed (pip install bpy)")


def run_blender(script: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_blender_written_volume_reads_correctly(tmp_path):
    """Geometry nodes' Volume Cube with density 0.5 - |p|, saved with `Volume.grids.save`."""
    out = tmp_path / "blender.vdb"
    result = run_blender(f"""
        import bpy, json
        bpy.ops.wm.read_factory_settings(use_empty=True)
        obj = bpy.data.objects.new("V", bpy.data.volumes.new("V"))
        bpy.context.scene.collection.objects.link(obj)
        ng = bpy.data.node_groups.new("g", "GeometryNodeTree")
        ng.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
        cube = ng.nodes.new("GeometryNodeVolumeCube")
        for axis in "XYZ":
            cube.inputs["Resolution " + axis].default_value = 20
        length = ng.nodes.new("ShaderNodeVectorMath"); length.operation = "LENGTH"
        sub = ng.nodes.new("ShaderNodeMath"); sub.operation = "SUBTRACT"
        sub.inputs[0].default_value = 0.5
        ng.links.new(ng.nodes.new("GeometryNodeInputPosition").outputs[0], length.inputs[0])
        ng.links.new(length.outputs["Value"], sub.inputs[1])
        ng.links.new(sub.outputs[0], cube.inputs["Density"])
        ng.links.new(cube.outputs[0], ng.nodes.new("NodeGroupOutput").inputs[0])
        obj.modifiers.new("gn", "NODES").node_group = ng
        ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        ok = ev.data.grids.save(r"{out}")
        print(json.dumps({{"ok": ok, "grids": [g.name for g in ev.data.grids]}}))
    """)
    assert result["ok"] and result["grids"] == ["density"]
    (info,) = list_grids(out)
    assert info.name == "density" and info.value_type == "float"
    vol = read_grid(out, "density")
    p = vol.cell_centres()
    expected = 0.5 - np.linalg.norm(p, axis=-1)
    active = vol.data != 0
    assert active.sum() > 1000
    np.testing.assert_allclose(vol.data[active], expected[active], atol=1e-5)


def test_blender_loads_what_billow_writes(tmp_path):
    """A blob far from the origin, different on every axis, lands where Blender expects it
    (z-up, world units) after a Blender-style write."""
    from billow.io import Volume
    from billow.io.frame import SmokeFrame

    from ..conftest import scaled_matrix

    m = scaled_matrix(0.1, (0.5, -2.0, 1.0))
    dens = np.zeros((4, 4, 4), np.float32) + 0.5
    vel = np.zeros((4, 4, 4, 3), np.float32)
    frame = SmokeFrame(tmp_path / "src.vdb", Volume("density", dens, (40, 80, 10), m),
                       Volume("vel", vel, (40, 80, 10), m), {}, {"fps": 24.0})
    out = write_smoke_frame(tmp_path / "for_blender.vdb", frame, style="blender")
    lo, hi = frame.density.world_bbox()
    result = run_blender(f"""
        import bpy, json
        bpy.ops.wm.read_factory_settings(use_empty=True)
        vol = bpy.data.volumes.new("V")
        vol.filepath = r"{out}"
        vol.grids.load()
        obj = bpy.data.objects.new("V", vol)
        bpy.context.scene.collection.objects.link(obj)
        bpy.context.view_layer.update()
        box = [list(c) for c in obj.bound_box]
        print(json.dumps({{"loaded": vol.grids.is_loaded, "error": vol.grids.error_message,
                          "grids": {{g.name: g.data_type for g in vol.grids}}, "box": box}}))
    """)
    assert result["loaded"], result["error"]
    assert result["grids"] == {"density": "FLOAT", "velocity": "VECTOR_FLOAT"}
    box = np.array(result["box"])
    # billow's y-up point (x, y, z) is Blender's z-up (x, -z, y)
    want_lo = np.array([lo[0], -hi[2], lo[1]])
    want_hi = np.array([hi[0], -lo[2], hi[1]])
    # Blender's bounds are those of whole 8^3 leaf nodes: they contain the blob and exceed
    # it by less than a leaf (the blob's axes are 4, 8 and 1 world units apart, so a swapped
    # or flipped axis would be far off)
    leaf = 8 * 0.1 + 1e-6
    assert np.all(box.min(0) <= want_lo + 1e-6) and np.all(box.min(0) >= want_lo - leaf)
    assert np.all(box.max(0) >= want_hi - 1e-6) and np.all(box.max(0) <= want_hi + leaf)
