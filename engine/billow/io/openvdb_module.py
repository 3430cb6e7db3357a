"""The one place that knows where the OpenVDB Python module comes from.

Inside Houdini or Blender, or with a system install, `openvdb` (OpenVDB >= 10) or `pyopenvdb`
(older builds) is importable directly. Elsewhere the official module bundled in the `bpy` wheel
is loaded from its file (what `bpy.utils.expose_bundled_modules()` would expose).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from ..errors import MissingDependencyError

INSTALL_HINT = (
    "install the official OpenVDB Python module: `pip install 'billow[vdb]'` "
    "(it comes with the bpy wheel, Python 3.11), or run inside Houdini/Blender, "
    "or put a system pyopenvdb on PYTHONPATH"
)


@functools.lru_cache(maxsize=1)
def openvdb() -> ModuleType:
    """Return the OpenVDB module, importing it on first use; raises with an install hint."""
    for name in ("openvdb", "pyopenvdb"):
        try:
            return importlib.import_module(name)
        except ImportError:
            pass
    bundled = _bpy_bundled_openvdb()
    if bundled is None:
        raise MissingDependencyError(f"OpenVDB Python module not found; {INSTALL_HINT}")
    # Load just this one file rather than `import bpy`: importing bpy starts Blender, costs
    # half a second, and makes the process abort at exit if any OpenVDB object is still alive.
    spec = importlib.util.spec_from_file_location("openvdb", bundled)
    module = importlib.util.module_from_spec(spec)
    sys.modules["openvdb"] = module
    try:
        spec.loader.exec_module(module)
    except ImportError as e:
        del sys.modules["openvdb"]
        raise MissingDependencyError(f"cannot load the OpenVDB module bundled with bpy at "
                                     f"{bundled} ({e}); {INSTALL_HINT}") from e
    return module


def _bpy_bundled_openvdb() -> Path | None:
    """Path of the openvdb extension inside the bpy wheel (bpy/<ver>/python/lib/python3.X/
    site-packages/openvdb*.so), found without importing bpy."""
    try:
        spec = importlib.util.find_spec("bpy")
    except (ImportError, ValueError):  # a broken or half-installed bpy
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    tag = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for root in spec.submodule_search_locations:
        for candidate in sorted(Path(root).glob(f"*/python/lib/{tag}/site-packages/openvdb*")):
            if candidate.suffix in (".so", ".pyd"):
                return candidate
    return None


def describe() -> str:
    """Where the module was found and its library version, for `billow --version`."""
    vdb = openvdb()
    version = ".".join(str(v) for v in getattr(vdb, "LIBRARY_VERSION", ()))
    return f"OpenVDB {version or '?'} ({vdb.__name__} from {getattr(vdb, '__file__', '?')})"
