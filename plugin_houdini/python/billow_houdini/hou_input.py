"""The input side of billow::upres::1.0 in Houdini: the SOP's upstream geometry, Houdini
volumes converted to VDB (what the Convert VDB SOP inside the old subnet asset did), written to
VDB files for the engine. Exercised only inside Houdini."""

from __future__ import annotations

import os

import hou  # only importable inside Houdini (or hython)

from .command import SettingsError
from .errors import EngineCancelled
from .paths import frame_path


def as_vdb(geo):
    """Houdini volumes -> VDBs (VDBs pass through) with the Convert VDB SOP's verb."""
    if not any(p.type() == hou.primType.Volume for p in geo.prims()):
        return geo
    verb, out = hou.sopNodeTypeCategory().nodeVerb("convertvdb"), hou.Geometry()
    parms = verb.parms()  # "conversion": token "vdb", or its menu index 1 if stored as int
    parms["conversion"] = "vdb" if isinstance(parms.get("conversion"), str) else 1
    verb.setParms(parms)
    verb.execute(out, [geo])
    return out


def write_input(geo, path: str) -> None:
    """The upstream VDB primitives (volumes converted) to `path` with Houdini's VDB writer."""
    geo = as_vdb(geo)
    if not any(p.type() == hou.primType.VDB for p in geo.prims()):
        raise SettingsError("the input has no VDB or volume primitives (density, vel); wire a "
                            "Pyro cache in or set Source to Cache on Disk")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    geo.saveToFile(path)


def upstream_of(sop):
    """The node wired into the SOP's input."""
    if not sop.inputs() or sop.inputs()[0] is None:
        raise SettingsError("nothing is wired into the input (or set Source to Cache on Disk)")
    return sop.inputs()[0]


def write_upstream_range(node, pattern: str, frames: list) -> None:
    """Cook the asset's input at each frame and write it (interruptable)."""
    upstream = upstream_of(node)
    with hou.InterruptableOperation("Billow upres", long_operation_name="Writing input VDBs",
                                    open_interrupt_dialog=True) as op:
        for k, f in enumerate(frames):
            try:
                op.updateLongProgress(k / len(frames), f"Writing input frame {f}")
            except hou.OperationInterrupted as e:
                raise EngineCancelled("cancelled while writing the input frames") from e
            write_input(upstream.geometryAtFrame(f), frame_path(pattern, f))
