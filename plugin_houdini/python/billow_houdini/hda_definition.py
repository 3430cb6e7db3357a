"""The Billow Upres SOP, `billow::upres::1.0`, as reviewable data. Plain Python, no `hou`.

The asset is a Python-type SOP, so all of it is text: `hda/write_expanded.py` renders this
module into the expanded asset committed at `otls/billow_upres.hda/` (the `hotl -t` form, which
Houdini loads from `otls/` with no build step), and `hda/build_hda.py` (hython) collapses that
into a binary .hda for studios that want one. Its cook (the PythonCook section) and its button
callbacks (the PythonModule section) call `billow_houdini.hou_sop`.

Parameter names are the contract with `command.settings_from_parms`; tests check both agree.
"""

from __future__ import annotations

NAMESPACE, NAME, VERSION = "billow", "upres", "1.0"
TYPE_NAME = f"{NAMESPACE}::{NAME}::{VERSION}"
CATEGORY = "Sop"
LABEL = "Billow Upres"
ICON = "SOP_vdb"
TAB_SUBMENU = "Billow"
MIN_INPUTS, MAX_INPUTS = 0, 1
INPUT_LABELS = ("Smoke VDBs: density and vel (or vel.x/.y/.z)",)
# The committed expanded asset (relative to the package folder, $BILLOW_HOUDINI), and the
# binary that `hda/build_hda.py` can make from it (git-ignored; not on the package's otls/ path,
# so Houdini never sees two definitions of the type).
EXPANDED_DIR = "otls/billow_upres.hda"
HDA_FILE = "dist/billow__upres__1.0.hda"
# The expanded form's "Modified" stamp: fixed, so that regenerating it is deterministic. Bump it
# with the definition.
MODIFIED = "Mon Jan 05 00:00:00 2026"
# Houdini saves assets with the extension of its licence: Indie writes .hdalc, Apprentice and
# Education write .hdanc (and refuse to save .hda); a commercial licence writes .hda.
HDA_EXTENSIONS = {"commercial": ".hda", "indie": ".hdalc", "apprentice": ".hdanc",
                  "apprenticehd": ".hdanc", "education": ".hdanc"}


def hda_file(license_category: str = "commercial") -> str:
    """HDA_FILE with the extension Houdini's licence `license_category` saves (the name of a
    `hou.licenseCategoryType`, e.g. "Indie" or "licenseCategoryType.Indie")."""
    key = str(license_category).rsplit(".", 1)[-1].lower()
    ext = HDA_EXTENSIONS.get(key, ".hda")
    return HDA_FILE[: -len(".hda")] + ext


MIN_HOUDINI = (20, 0)

# The PythonCook section: what the SOP runs when it cooks (hou.pwd() is the asset's node).
PYTHON_COOK = """# billow::upres::1.0: upres the current frame and load it (logic: billow_houdini).
import hou

from billow_houdini import hou_sop

hou_sop.cook(hou.pwd())
"""

PYTHON_MODULE = '''"""Callbacks of billow::upres::1.0 (buttons). The logic is in billow_houdini."""
from billow_houdini import hou_sop


def render_range(kwargs):
    hou_sop.render_range(kwargs["node"])


def show_command(kwargs):
    hou_sop.show_command(kwargs["node"])
'''

def _menu(*pairs):
    return [list(p) for p in pairs]


PARMS = [
    {"type": "folder", "name": "io_folder", "label": "Input/Output", "parms": [
        {"type": "menu", "name": "source", "label": "Source", "default": "input",
         "menu": _menu(("input", "Upstream Geometry"), ("file", "Cache on Disk")),
         "help": "Upstream Geometry writes the input's VDBs (density, vel) to a temporary "
                 "file with Houdini's VDB writer; Cache on Disk reads a $F4 pattern."},
        {"type": "file", "name": "incache", "label": "Input Cache",
         "default": "$HIP/geo/pyro.$F4.vdb", "hide_when": "{ source == input }",
         "help": "Frame pattern of the coarse cache: $F4, ####, %04d. $HIP/$JOB are expanded."},
        {"type": "file", "name": "outcache", "label": "Output Cache",
         "default": "$HIP/geo/billow/$OS.$F4.vdb",
         "help": "Where upres'd frames are written (atomically, one file per frame)."},
        {"type": "toggle", "name": "reuse", "label": "Load Existing Output Frames",
         "default": 1,
         "help": "When the output frame exists, load it instead of running the network."},
        {"type": "float", "name": "f", "label": "Start/End/Inc", "size": 3,
         "default": [1, 240, 1], "expr": ["$FSTART", "$FEND", "1"],
         "help": "Frame range of Render Range to Disk (and of the TOP)."},
        {"type": "toggle", "name": "skipexisting", "label": "Skip Existing Frames (Resume)",
         "default": 1, "help": "Render Range leaves frames already on disk."},
        {"type": "button", "name": "render", "label": "Render Range to Disk",
         "callback": "hou.phm().render_range(kwargs)",
         "help": "Upres the whole range to the output cache (Esc cancels; re-run resumes)."},
        {"type": "button", "name": "showcmd", "label": "Show Command",
         "callback": "hou.phm().show_command(kwargs)",
         "help": "Print the engine command line of the current settings."},
    ]},
    {"type": "folder", "name": "upres_folder", "label": "Upres", "parms": [
        {"type": "file", "name": "model", "label": "Model", "default": "",
         "file_type": "*.onnx",
         "help": "ONNX model with its .json card beside it; empty for the shipped 3D x4."},
        {"type": "menu", "name": "scale", "label": "Scale", "default": "4",
         "menu": _menu(("4", "4x"), ("8", "8x"), ("16", "16x")),
         "help": "8x and 16x apply the 4x model recursively; memory grows with the cube."},
        {"type": "float", "name": "velscale", "label": "Velocity Scale", "default": 1.0,
         "range": [0.0, 2.0],
         "help": "Detail control: 0 suppresses detail, 1 as trained, 2 exaggerates."},
        {"type": "float", "name": "detailblend", "label": "Detail Blend", "default": 0.0,
         "range": [0.0, 1.0], "help": "Blend towards a plain tricubic upsample (1)."},
        {"type": "menu", "name": "masktype", "label": "Velocity Scale Mask", "default": "none",
         "menu": _menu(("none", "Everywhere"), ("sphere", "Sphere"), ("box", "Box"),
                       ("grid", "Grid in Input")),
         "help": "Where Velocity Scale applies (world units); outside it stays 1."},
        {"type": "float", "name": "maskcenter", "label": "Center", "size": 3,
         "default": [0.0, 0.0, 0.0], "hide_when": "{ masktype != sphere }"},
        {"type": "float", "name": "maskradius", "label": "Radius", "default": 1.0,
         "range": [0.0, 10.0], "hide_when": "{ masktype != sphere }"},
        {"type": "float", "name": "maskmin", "label": "Box Min", "size": 3,
         "default": [-1.0, -1.0, -1.0], "hide_when": "{ masktype != box }"},
        {"type": "float", "name": "maskmax", "label": "Box Max", "size": 3,
         "default": [1.0, 1.0, 1.0], "hide_when": "{ masktype != box }"},
        {"type": "float", "name": "maskfalloff", "label": "Falloff", "default": 0.0,
         "range": [0.0, 1.0], "hide_when": "{ masktype == none } { masktype == grid }"},
        {"type": "string", "name": "maskgrid", "label": "Mask Grid", "default": "mask",
         "hide_when": "{ masktype != grid }",
         "help": "A float grid (0..1) in the input cache."},
    ]},
    {"type": "folder", "name": "grids_folder", "label": "Grids", "parms": [
        {"type": "string", "name": "densitygrid", "label": "Density Grid", "default": "",
         "help": "Empty: auto-detect 'density'."},
        {"type": "string", "name": "velgrid", "label": "Velocity Grid", "default": "",
         "help": "Empty: auto-detect vel, velocity, v or split vel.x/.y/.z (world units/s)."},
        {"type": "string", "name": "passthrough", "label": "Pass Through", "default": "",
         "help": "Comma-separated grids upsampled trilinearly into the output, e.g. "
                 "temperature,flame."},
        {"type": "toggle", "name": "writevel", "label": "Write Velocity", "default": 0,
         "help": "Also write the upsampled vel (motion blur)."},
        {"type": "toggle", "name": "half", "label": "16-bit Floats", "default": 0},
        {"type": "float", "name": "fps", "label": "FPS", "default": 24.0, "expr": ["$FPS"],
         "range": [1.0, 120.0],
         "help": "Converts vel from world units/s to cells per frame."},
    ]},
    {"type": "folder", "name": "engine_folder", "label": "Engine", "parms": [
        {"type": "string", "name": "executable", "label": "Engine", "default": "",
         "help": "The billow executable (or `python -m billow`); empty: $BILLOW_EXECUTABLE, "
                 "else billow on PATH."},
        {"type": "menu", "name": "device", "label": "Device", "default": "cpu",
         "menu": _menu(("cpu", "CPU"), ("cuda", "CUDA GPU"))},
        {"type": "int", "name": "threads", "label": "CPU Threads", "default": 0,
         "range": [0, 64], "help": "0: all cores."},
        {"type": "int", "name": "tile", "label": "Tile Size", "default": 0, "range": [0, 128],
         "help": "Tile core in input cells; 0: the engine's default (reduced on out-of-memory)."},
        {"type": "string", "name": "extraargs", "label": "Extra Arguments", "default": "",
         "help": "More `billow upres` flags, e.g. --velocity-units cells/frame."},
    ]},
]


def iter_parms(parms=None):
    """Every non-folder parameter, depth first."""
    for p in PARMS if parms is None else parms:
        if p["type"] == "folder":
            yield from iter_parms(p["parms"])
        else:
            yield p


def component_names(parm: dict) -> list[str]:
    """Houdini's names of a parameter's components (`maskcenter` -> maskcenterx/y/z; the frame
    range tuple `f` -> f1/f2/f3, as on Houdini's own ROPs)."""
    size = parm.get("size", 1)
    if size == 1:
        return [parm["name"]]
    suffixes = "123" if parm["name"] == "f" else "xyzw"
    return [parm["name"] + suffixes[i] for i in range(size)]


def tool_xml() -> str:
    """The asset's Tools.shelf section: the TAB menu entry under Billow."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<shelfDocument>
  <tool name="$HDA_DEFAULT_TOOL" label="$HDA_LABEL" icon="$HDA_ICON">
    <toolMenuContext name="viewer">
      <contextNetType>SOP</contextNetType>
    </toolMenuContext>
    <toolMenuContext name="network">
      <contextOpType>$HDA_TABLE_AND_NAME</contextOpType>
    </toolMenuContext>
    <toolSubmenu>{TAB_SUBMENU}</toolSubmenu>
    <script scriptType="python"><![CDATA[import soptoolutils
soptoolutils.genericTool(kwargs, '$HDA_NAME')]]></script>
  </tool>
</shelfDocument>
"""


HELP = """= Billow Upres =

#type: node
#context: sop
#internal: billow::upres::1.0
#icon: SOP/vdb

\"\"\"Neural 4x (8x, 16x) upres of a smoke cache with the billow engine.\"\"\"

The node runs the `billow upres` engine as a separate process (never inside Houdini's Python),
shows its progress (Esc cancels), and loads the upres'd VDB with the grid names of the input.

:Source: Upstream geometry (its VDBs are written to a temporary file) or a cache on disk.
:Render Range to Disk: upres the whole frame range; re-running resumes.
:Velocity Scale: art-directs the amount of detail, optionally inside a mask.

For a farm, use the Billow Upres TOP (one work item per chunk of frames).
"""
