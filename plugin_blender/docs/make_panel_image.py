"""Draw docs/panel.png: the billow panel as its draw code lays it out, for the README.

Headless Blender (the `bpy` wheel) has no window to screenshot, so this is not a screenshot: the
panel's real `draw()` runs inside Blender with a recording layout (panel_layout.py) for a Volume
object with typical settings, and matplotlib draws the recorded rows in Blender's default dark
theme. Labels, values, ranges, order and buttons come from the extension itself; pixel-exact
widget shapes do not.

    python plugin_blender/docs/make_panel_image.py [OUT.png]   # from the repository root
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parent

SCRIPT = """
import bpy, json, sys
sys.path.insert(0, {here!r})
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.extensions.package_install_files(filepath={zip!r}, repo="user_default",
                                         enable_on_install=True)
import panel_layout
vol = bpy.data.volumes.new("Smoke")
vol.filepath = "//cache/smoke.0001.vdb"
vol.is_sequence = True
obj = bpy.data.objects.new("Smoke", vol)
bpy.context.scene.collection.objects.link(obj)
mask = bpy.data.objects.new("DetailMask", None)
bpy.context.scene.collection.objects.link(mask)
mask.empty_display_type = "SPHERE"
s = obj.billow
s.detail, s.mask_object, s.mask_falloff, s.frame_mode = 1.6, mask, 0.5, "SCENE"
s.write_velocity = True
bpy.context.window_manager.billow_status = "billow upres (new engine process): frame 14 (4/48), 88 s left - Esc to cancel"
bpy.context.window_manager.billow_progress = 4 / 48
print("LAYOUT " + json.dumps(panel_layout.record(obj)))
"""


def blender_ext_cli() -> Path:
    """Blender's extension tool, bundled in the bpy wheel (found without importing bpy)."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(folder).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if found:
            return found[-1]
    raise SystemExit("needs Blender's bpy wheel (pip install bpy)")


def record_layout() -> list:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(blender_ext_cli()), "build", "--source-dir",
                        str(PLUGIN), "--output-dir", tmp], check=True, capture_output=True)
        (zip_path,) = Path(tmp).glob("*.zip")
        env = dict(os.environ, BLENDER_USER_RESOURCES=str(Path(tmp) / "user"))
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT).format(
            here=str(HERE), zip=str(zip_path))], check=False, capture_output=True, text=True, env=env,
            timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("LAYOUT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
    return json.loads(lines[-1][len("LAYOUT "):])


# Blender 4.x default theme
BG, PANEL, HEADER = "#303030", "#3d3d3d", "#303030"
FIELD, BUTTON, TEXT, DIM, BLUE = "#1d1d1d", "#545454", "#e6e6e6", "#9a9a9a", "#4772b3"


def draw(items: list, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    width, row_h, split = 360, 26, 130  # use_property_split: labels right-aligned at `split`
    rows, i = [], 0
    items = [it for it in items if it["kind"] in ("label", "prop", "operator", "separator",
                                                  "heading", "progress")]
    while i < len(items):  # consecutive buttons share one row, as in the panel
        if items[i]["kind"] == "operator":
            j = i
            while j < len(items) and items[j]["kind"] == "operator":
                j += 1
            rows.append({"kind": "buttons", "ops": items[i:j]})
            i = j
        else:
            rows.append(items[i])
            i += 1
    heights = {"separator": 8, "buttons": 34}
    height = 46 + sum(heights.get(r["kind"], row_h) for r in rows) + 22
    fig = plt.figure(figsize=(width / 100, height / 100), dpi=200)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    fig.patch.set_facecolor(BG)

    def box(x, y, w, h, color, r=4):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle=f"round,pad=0,rounding_size={r}",
                                    fc=color, ec="#242424", lw=0.6))

    def text(x, y, s, color=TEXT, ha="left", size=6.5, weight="normal"):
        ax.text(x, y, s, color=color, ha=ha, va="center", fontsize=size, weight=weight,
                family="DejaVu Sans")

    box(6, 6, width - 12, height - 12, PANEL, r=6)
    box(6, 6, width - 12, 26, HEADER, r=6)
    text(16, 19, "\u25be  billow Upres", weight="bold", size=7)
    text(width - 16, 19, "billow tab \u00b7 3D View sidebar", DIM, ha="right", size=5.5)
    y = 46
    for it in rows:
        kind = it["kind"]
        if kind == "separator":
            y += heights[kind]
            continue
        if kind == "buttons":
            ops = it["ops"]
            bw = (width - 32) / len(ops)
            for k, op in enumerate(ops):
                box(16 + k * bw, y, bw - 2, 26, BLUE if op.get("depress") else BUTTON, r=3)
                icon = {"PLAY": "\u25b6 ", "RESTRICT_RENDER_OFF": "\u25c9 "}.get(op["icon"], "")
                text(16 + (k + 0.5) * bw, y + 13, icon + op["text"], ha="center", size=7)
            y += heights[kind]
            continue
        if kind == "heading":
            text(16, y + 9, it["text"], DIM, size=6, weight="bold")
            y += row_h * 0.8
            continue
        if kind == "progress":
            box(16, y, width - 32, 18, FIELD, r=3)
            box(16, y, max((width - 32) * it["factor"], 4), 18, BLUE, r=3)
            text(22, y + 9, it["text"], size=5.5)
            y += row_h
            continue
        if kind == "label":
            icon = {"VOLUME_DATA": "\u25a7 ", "TIME": "\u25f7 ", "INFO": "\u2139 ",
                    "CHECKMARK": "\u2713 "}.get(
                it["icon"], "")
            text(16, y + 9, icon + it["text"], DIM if it["icon"] == "TIME" else TEXT, size=6)
            y += row_h
            continue
        color = TEXT if it.get("active", True) else DIM
        x0, w = split + 8, width - split - 22
        text(split, y + 9, it["text"], color, ha="right")
        v = it["value"]
        if it["type"] == "ENUM" and it["expand"]:
            n = len(it["options"])
            for k, o in enumerate(it["options"]):
                box(x0 + k * w / n, y, w / n - 1, 18, BLUE if o == v else BUTTON, r=3)
                text(x0 + (k + 0.5) * w / n, y + 9, o, ha="center")
        elif it["type"] == "ENUM":
            box(x0, y, w, 18, "#282828", r=3)
            text(x0 + 6, y + 9, str(v), color)
            text(x0 + w - 8, y + 9, "\u2304", DIM, ha="right")
        elif it["type"] == "FLOAT" and it.get("slider"):
            lo, hi = it["range"]
            frac = (v - lo) / (hi - lo) if hi > lo else 0
            box(x0, y, w, 18, BUTTON, r=3)
            box(x0, y, max(w * frac, 4), 18, BLUE, r=3)
            text(x0 + w / 2, y + 9, f"{v:.3f}", ha="center")
        elif it["type"] == "FLOAT":
            box(x0, y, w, 18, BUTTON, r=3)
            text(x0 + w / 2, y + 9, f"{v:.2f} m" if it["subtype"] == "DISTANCE" else f"{v:.3f}",
                 color, ha="center")
        elif it["type"] == "BOOLEAN" and it.get("toggle"):
            box(x0, y, w, 18, BLUE if v else BUTTON, r=3)
            text(x0 + w / 2, y + 9, it["text"], ha="center")
        elif it["type"] == "BOOLEAN":
            box(x0, y + 2, 14, 14, BLUE if v else BUTTON, r=3)
            if v:
                text(x0 + 7, y + 9, "\u2713", ha="center")
        elif it["type"] == "POINTER":
            box(x0, y, w, 18, FIELD, r=3)
            text(x0 + 6, y + 9, ("\u25cb " + v) if v else "", color)
        elif it["type"] == "INT":
            box(x0, y, w, 18, BUTTON, r=3)
            text(x0 + w / 2, y + 9, str(v), ha="center")
        else:  # strings, paths
            box(x0, y, w, 18, FIELD, r=3)
            text(x0 + 6, y + 9, str(v), color)
            if it["subtype"] in ("DIR_PATH", "FILE_PATH"):
                text(x0 + w - 6, y + 9, "\u2630", DIM, ha="right")
        y += row_h
    text(width - 10, height - 12, "drawn from the panel's draw() code, not a screenshot", DIM,
         ha="right", size=4.5)
    fig.savefig(out, facecolor=BG)
    plt.close(fig)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "panel.png"
    items = record_layout()
    draw(items, out)
    (out.with_suffix(".json")).write_text(json.dumps(items, indent=1) + "\n")
    print(out)


if __name__ == "__main__":
    main()
