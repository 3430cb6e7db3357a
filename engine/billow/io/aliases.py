"""Which grid of a file plays which role (density, velocity, ...), by the names DCCs use.

Houdini writes `density` and `vel` (a vector, or split into `vel.x`, `vel.y`, `vel.z`);
Blender's Mantaflow writes `density`, a staggered `velocity`, `heat`, `flame` and `color`.
Names match case-insensitively; an explicit override always wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from .vdb import GridInfo

ROLES: dict[str, tuple[str, ...]] = {
    "density": ("density",),
    "velocity": ("vel", "velocity", "v"),
    "temperature": ("temperature", "heat"),
    "flame": ("flame", "fuel"),
    "color": ("color", "colour", "cd"),
}
_SPLIT_SUFFIXES = ((".x", ".y", ".z"), ("_x", "_y", "_z"))


@dataclass(frozen=True)
class GridRef:
    """A role resolved to one vector grid (`names` of length 1) or three scalar components."""

    role: str
    names: tuple[str, ...]

    @property
    def is_split(self) -> bool:
        return len(self.names) == 3

    @property
    def base_name(self) -> str:
        """The name to use when writing the merged grid back (e.g. `vel` for `vel.x/.y/.z`)."""
        return self.names[0][:-2] if self.is_split else self.names[0]


def resolve(infos: list[GridInfo], role: str, override: str | None = None, *,
            source: str = "", required: bool = False) -> GridRef | None:
    """Find the grid(s) for `role`; None if absent and not required; InputError if ambiguous."""
    by_lower = {i.name.lower(): i for i in infos}
    present = ", ".join(sorted(i.name for i in infos)) or "none"
    flag = f"--{role}-grid"
    if override:
        ref = _lookup(by_lower, override.lower(), role)
        if ref is None:
            raise InputError(f"{source}: no grid '{override}' for {role} (grids: {present})")
        return ref
    candidates = [ref for alias in ROLES[role]
                  if (ref := _lookup(by_lower, alias, role)) is not None]
    if len(candidates) > 1:
        found = " and ".join("'" + "/".join(c.names) + "'" for c in candidates)
        raise InputError(f"{source}: ambiguous {role}: {found} both present; choose with {flag}")
    if candidates:
        return candidates[0]
    if required:
        raise InputError(f"{source}: no {role} grid (grids: {present}); name it with {flag}")
    return None


def _lookup(by_lower: dict[str, GridInfo], name: str, role: str) -> GridRef | None:
    info = by_lower.get(name)
    if info is not None:
        if role == "velocity" and not info.is_vector:
            return None  # e.g. a scalar named `v`: not a velocity
        return GridRef(role, (info.name,))
    for suffixes in _SPLIT_SUFFIXES:
        parts = [by_lower.get(name + s) for s in suffixes]
        if all(p is not None and not p.is_vector for p in parts):
            return GridRef(role, tuple(p.name for p in parts))
    return None
