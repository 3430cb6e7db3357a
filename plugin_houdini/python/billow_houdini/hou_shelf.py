"""Shelf tools (toolbar/billow.shelf). Exercised only inside Houdini."""

from __future__ import annotations

import hou  # only importable inside Houdini (or hython)

from . import hda_definition as hda
from .shelf_logic import CACHE_PARMS, pick_cache_path


def _selected_sop():
    for node in hou.selectedNodes():
        if isinstance(node, hou.SopNode):
            return node
    return None


def _raw(node, names) -> dict:
    out = {}
    for name in names:
        parm = node.parm(name)
        if parm is None:
            continue
        try:
            out[name] = parm.unexpandedString()
        except hou.OperationFailed:
            out[name] = parm.evalAsString()
    return out


def drop_upres(kwargs=None):
    """Put a Billow Upres SOP after the selected SOP (a Pyro cache). When the selection is a
    File Cache writing .vdb, the SOP reads that cache from disk; else it reads its input."""
    src = _selected_sop()
    if src is None:
        hou.ui.displayMessage("Select the SOP with the smoke (a Pyro File Cache) first.",
                              title="Billow Upres")
        return None
    node = src.parent().createNode(hda.TYPE_NAME, "billow_upres")
    node.setFirstInput(src)
    node.moveToGoodPosition()
    path = pick_cache_path(src.type().name(), _raw(src, CACHE_PARMS))
    if path:
        node.parm("source").set("file")
        node.parm("incache").set(path)
    node.setDisplayFlag(True)
    node.setRenderFlag(True)
    node.setSelected(True, clear_all_selected=True)
    return node


def create_top_from_selection(kwargs=None):
    """A TOP network with a Billow Upres TOP carrying the selected Billow Upres SOP's
    settings (frame patterns rewritten as ####)."""
    from .hou_top import create_top

    sop = _selected_sop()
    if sop is None or sop.type().name() != hda.TYPE_NAME:
        hou.ui.displayMessage("Select a Billow Upres SOP first.", title="Billow Upres")
        return None
    net = hou.node("/obj").createNode("topnet", "billow_farm")
    top = create_top(net, sop=sop)
    top.setDisplayFlag(True)
    top.setSelected(True, clear_all_selected=True)
    return top
