"""Parameter dicts (`hda_definition.PARMS` format) -> `hou.ParmTemplate`s. Used by the HDA
build script and the TOP; exercised only inside Houdini."""

from __future__ import annotations

import hou  # only importable inside Houdini (or hython)


def parm_template(p: dict):
    kind, name, label = p["type"], p["name"], p["label"]
    size = p.get("size", 1)
    if kind == "folder":
        t = hou.FolderParmTemplate(name, label, folder_type=hou.folderType.Tabs)
        for child in p["parms"]:
            t.addParmTemplate(parm_template(child))
        return t
    if kind == "button":
        t = hou.ButtonParmTemplate(name, label, script_callback=p.get("callback", ""),
                                   script_callback_language=hou.scriptLanguage.Python)
    elif kind in ("string", "file", "menu"):
        extra = {}
        if kind == "file":
            extra["string_type"] = hou.stringParmType.FileReference
            extra["file_type"] = hou.fileType.Any
        if kind == "menu":
            extra["menu_items"] = [tok for tok, _ in p["menu"]]
            extra["menu_labels"] = [lbl for _, lbl in p["menu"]]
        t = hou.StringParmTemplate(name, label, 1, default_value=(str(p["default"]),), **extra)
        if p.get("file_type"):
            t.setTags({"filechooser_pattern": p["file_type"]})
    elif kind == "toggle":
        t = hou.ToggleParmTemplate(name, label, default_value=bool(p["default"]))
    else:
        defaults = p["default"] if size > 1 else [p["default"]]
        lo, hi = p.get("range", (0, 10))
        scheme = (hou.parmNamingScheme.Base1 if name == "f" else hou.parmNamingScheme.XYZW)
        common = dict(min=lo, max=hi, naming_scheme=scheme)
        if p.get("expr"):
            common["default_expression"] = tuple(p["expr"])
            common["default_expression_language"] = tuple(
                hou.scriptLanguage.Hscript for _ in p["expr"])
        if kind == "int":
            t = hou.IntParmTemplate(name, label, size,
                                    default_value=tuple(int(v) for v in defaults), **common)
        else:
            t = hou.FloatParmTemplate(name, label, size,
                                      default_value=tuple(float(v) for v in defaults), **common)
    if p.get("help"):
        t.setHelp(p["help"])
    if p.get("hide_when"):
        t.setConditional(hou.parmCondType.HideWhen, p["hide_when"])
    return t
