"""Decisions of the shelf tools, without `hou`: which parameter of the selected node holds its
cache path. Plain Python, unit-tested."""

from __future__ import annotations

# Where caching SOPs keep their output path, in the order to try them.
CACHE_PARMS = ("file", "sopoutput", "filename", "outputfile")
CACHE_TYPES = ("filecache", "file", "rop_geometry", "dopio", "vdbwrite")


def is_cache_type(type_name: str) -> bool:
    """`filecache::2.0` -> True: the SOP reads or writes a cache on disk."""
    base = type_name.split("::")[-2] if type_name.count("::") >= 2 else type_name.split("::")[0]
    return base in CACHE_TYPES


def pick_cache_path(type_name: str, raw_parms: dict) -> str | None:
    """The selected node's VDB cache pattern (raw, so $F4 survives), or None when it is not a
    cache node or does not write .vdb; the tool then uses the upstream geometry."""
    if not is_cache_type(type_name):
        return None
    for name in CACHE_PARMS:
        text = str(raw_parms.get(name) or "").strip()
        if text.lower().endswith(".vdb"):
            return text
    return None
