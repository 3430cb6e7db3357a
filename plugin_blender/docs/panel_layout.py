"""Record what the billow panel draws, inside Blender, without a window.

`record(obj)` calls the panel's real draw code with a stand-in `layout` that records every
label, property and button (with the property's UI name, value and range from Blender's RNA).
Used by make_panel_image.py (the README picture) and by the tests (the panel draws without
errors for each kind of object). Run inside Blender with the extension enabled.
"""

from __future__ import annotations

import importlib

import bpy

MODULE = "bl_ext.user_default.billow"


class _OperatorProperties:
    """Stands in for the operator properties `layout.operator()` returns."""

    def __init__(self, item):
        object.__setattr__(self, "_item", item)

    def __setattr__(self, name, value):
        self._item.setdefault("props", {})[name] = value


class Recorder:
    def __init__(self, items, depth=0, kind="column"):
        self.items, self.depth, self.kind = items, depth, kind
        self.use_property_split = self.use_property_decorate = False
        self.active = self.enabled = True
        self.scale_y = 1.0

    def _child(self, kind):
        self.items.append({"kind": kind, "depth": self.depth})
        return Recorder(self.items, self.depth + 1, kind)

    def column(self, heading="", **_):
        if heading:
            self.items.append({"kind": "heading", "text": heading, "depth": self.depth})
        return self._child("column")

    def row(self, **_):
        return self._child("row")

    def box(self):
        return self._child("box")

    def separator(self, **_):
        self.items.append({"kind": "separator", "depth": self.depth})

    def label(self, text="", icon="NONE"):
        self.items.append({"kind": "label", "text": text, "icon": icon, "depth": self.depth})

    def operator(self, idname, text=None, icon="NONE", depress=False, **_):
        mod, name = idname.split(".")
        label = getattr(getattr(bpy.ops, mod), name).get_rna_type().name
        item = {"kind": "operator", "text": text or label, "icon": icon, "idname": idname,
                "depth": self.depth, "in": self.kind, "scale_y": self.scale_y,
                "depress": depress}
        self.items.append(item)
        return _OperatorProperties(item)

    def progress(self, factor=0.0, type="BAR", text=""):
        self.items.append({"kind": "progress", "text": text, "factor": factor,
                           "depth": self.depth})

    def prop(self, data, name, text=None, expand=False, slider=False, toggle=False, **_):
        rna = data.bl_rna.properties[name]
        value = getattr(data, name)
        item = {"kind": "prop", "name": name, "text": rna.name if text is None else text,
                "type": rna.type, "subtype": getattr(rna, "subtype", ""), "expand": expand,
                "slider": slider, "toggle": toggle, "depth": self.depth, "in": self.kind,
                "active": self.active}
        if rna.type == "ENUM":
            items = rna.enum_items if not rna.is_enum_flag else []
            try:
                items = [(i.identifier, i.name) for i in items] or []
            except TypeError:
                items = []
            item["options"] = [n for _, n in items]
            item["value"] = dict(items).get(value) or bpy.types.UILayout.enum_item_name(
                data, name, value) or value  # dynamic items (the model list)
        elif rna.type == "POINTER":
            item["value"] = value.name if value is not None else ""
        elif rna.type == "FLOAT":
            item["value"] = float(value)
            item["range"] = [rna.soft_min, rna.soft_max]
        else:
            item["value"] = value
        self.items.append(item)


def record(obj, space="VIEW_3D"):
    """The panel's drawn items for `obj` as the active object."""
    panels = importlib.import_module(MODULE + ".panels")
    items = []
    cls = {"VIEW_3D": panels.VIEW3D_PT_billow, "DATA": panels.DATA_PT_billow_volume,
           "PHYSICS": panels.PHYSICS_PT_billow_domain}[space]
    fake = type("P", (), {"layout": Recorder(items), "bl_space_type": cls.bl_space_type})()
    bpy.context.view_layer.objects.active = obj
    cls.draw(fake, bpy.context)
    return items
