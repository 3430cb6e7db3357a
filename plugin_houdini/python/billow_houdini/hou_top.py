"""The `hou`/`pdg` side of the Billow Upres TOP: a Python Processor whose onGenerate creates
one work item per chunk of frames, each running `billow upres ... --chunk N --chunk-index I`
out of process, so any PDG scheduler (local, HQueue, Deadline, Tractor) distributes them.
Exercised only inside Houdini; the planning is `top.py` (unit-tested, and its command lines
are run against the engine in the tests).

Create one from the shelf tool, or in a TOP network's Python Shell:

    from billow_houdini import hou_top; hou_top.create_top(hou.node("/obj/topnet1"))
"""

from __future__ import annotations

import os

import hou  # only importable inside Houdini (or hython)

from . import hda_definition as hda
from .vendor.billow_client import format_frames
from .hou_templates import parm_template
from .top import plan_from_top_values, top_parms, top_values

ON_GENERATE = """# Billow Upres: one work item per chunk of frames (see billow_houdini.hou_top)
from billow_houdini import hou_top
hou_top.on_generate(self, item_holder, upstream_items, generation_type)
"""
RESULT_TAG = "file/geo/vdb"


def on_generate(pdg_node, item_holder, upstream_items, generation_type) -> None:
    """Python Processor onGenerate: reads the spare parameters through PDG (which expands
    `$HIP` and backticks), plans the chunks, adds one command work item per chunk."""

    def get(name, kind):
        port = pdg_node[name]
        if kind == "string":
            return port.evaluateString()
        return port.evaluateInt() if kind == "int" else port.evaluateFloat()

    hip = hou.text.expandString("$HIP")
    specs = plan_from_top_values(top_values(get), base_dir=hip or os.getcwd())
    for spec in specs:
        item = item_holder.addWorkItem(index=spec.index)
        item.setCommand(spec.command)
        item.setStringAttrib("billow_frames", format_frames(list(spec.frames)))
        item.setIntAttrib("billow_chunk", spec.index)
        for path in spec.outputs:
            item.addExpectedResultData(path, RESULT_TAG)


def create_top(parent, name: str = "billow_upres", sop=None):
    """A Python Processor TOP in `parent` set up as the Billow Upres TOP. With `sop` (a
    billow::upres SOP), its settings are copied as the SOP evaluates them ($OS, backticks and
    `chs()` resolved at the SOP: the farm writes the files the SOP reads), with $F4 written
    as ####."""
    from .paths import hashes

    top = parent.createNode("pythonprocessor", name)
    group = top.parmTemplateGroup()
    folder = hou.FolderParmTemplate("billow_folder", "Billow Upres")
    for p in top_parms():
        folder.addParmTemplate(parm_template(p))
    group.append(folder)
    top.setParmTemplateGroup(group)
    generate = top.parm("generate")
    if generate is None:
        raise hou.OperationFailed("this Python Processor has no 'generate' (onGenerate) "
                                  "parameter; paste billow_houdini.hou_top.ON_GENERATE into it")
    generate.set(ON_GENERATE)
    if sop is not None:
        from .hou_sop import read_parms

        values = read_parms(sop)
        for key in ("incache", "outcache"):
            values[key] = hashes(values.get(key, ""))
        for p in top_parms():
            parm = top.parm(p["name"])
            if parm is not None and p["name"] in values:
                parm.set(values[p["name"]])
        if values.get("f1") is not None:
            top.parm("frames").set(f"{int(values['f1'])}-{int(values['f2'])}"
                                   + (f"x{int(values['f3'])}" if int(values["f3"]) > 1 else ""))
    top.setComment(f"Billow Upres TOP ({hda.TYPE_NAME} settings)")
    return top
