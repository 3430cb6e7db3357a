"""billow Smoke Upres: a thin Blender extension over the billow engine.

Layers (STYLE.md rule 6): `core/` is plain Python (commands, worker subprocess, progress, frames,
masks; no `bpy`), and the modules below only read Blender properties, call into `core`, and load
the result. The engine runs as a subprocess from the Python environment set in the preferences;
Blender's Python never imports torch or the engine.

`bpy` is imported inside `register()` only, so `core` can be imported (and unit-tested) without
Blender.
"""

_MODULES = ("preferences", "properties", "warm", "live", "operators", "panels")


def _modules():
    import importlib

    return [importlib.import_module(f"{__package__}.{name}") for name in _MODULES]


def register():
    for module in _modules():
        module.register()


def unregister():
    for module in reversed(_modules()):
        module.unregister()
