"""A detail-mask empty -> the engine's `--mask` text, in the cache's own world space.

Matrices are 4x4 row-major lists in Blender's convention (column vectors, translation in the
last column), e.g. `[list(r) for r in obj.matrix_world]`. `cache_from_world` maps Blender world
space into the cache's world space: the inverse of the Volume object's world matrix (a Volume
object displays its VDB's world space through its own transform).

A Sphere empty becomes `sphere:cx,cy,cz,r,falloff` (r = display size times the largest axis
scale); a Cube empty becomes `box:...`, the axis-aligned bounds of the transformed cube (a rotated
cube is therefore enlarged to its bounds: the engine's box is axis-aligned). Falloff is given in
Blender world units and converted with the cache's scale.
"""

from __future__ import annotations

import math
from itertools import product


class MaskError(ValueError):
    """The mask object cannot be turned into an engine mask; the message says why."""


def matmul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(4)) for j in range(4)] for i in range(4)]


def apply(m, p):
    return [sum(m[i][k] * p[k] for k in range(3)) + m[i][3] for i in range(3)]


def axis_scales(m):
    return [math.sqrt(sum(m[i][j] ** 2 for i in range(3))) for j in range(3)]


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def mask_text(display_type: str, display_size: float, empty_matrix, cache_from_world,
              falloff: float = 0.0) -> str:
    """The engine's mask for an empty (see the module docstring)."""
    if falloff < 0:
        raise MaskError("the mask falloff must be >= 0")
    m = matmul(cache_from_world, empty_matrix)
    world_unit = sum(axis_scales(cache_from_world)) / 3.0  # cache units per Blender unit
    fall = falloff * world_unit
    if display_type == "SPHERE":
        centre = [m[i][3] for i in range(3)]
        radius = display_size * max(axis_scales(m))
        if radius <= 0:
            raise MaskError("the mask sphere has zero size")
        return "sphere:" + ",".join(_fmt(v) for v in (*centre, radius, fall))
    if display_type == "CUBE":
        corners = [apply(m, [sx * display_size, sy * display_size, sz * display_size])
                   for sx, sy, sz in product((-1, 1), repeat=3)]
        lo = [min(c[i] for c in corners) for i in range(3)]
        hi = [max(c[i] for c in corners) for i in range(3)]
        if any(h - l <= 0 for l, h in zip(lo, hi)):
            raise MaskError("the mask cube has zero size")
        return "box:" + ",".join(_fmt(v) for v in (*lo, *hi, fall))
    raise MaskError(f"the mask empty's display is {display_type.title().replace('_', ' ')}: "
                    "set it to Sphere or Cube (Object Data properties > Empty > Display As)")


def invert_affine(m):
    """Inverse of a 4x4 affine matrix (row-major, column vectors)."""
    a = [row[:3] for row in m[:3]]
    det = (a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
           - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
           + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]))
    if abs(det) < 1e-12:
        raise MaskError("the smoke object's transform has zero scale")
    inv = [[0.0] * 3 for _ in range(3)]
    for i in range(3):
        for j in range(3):
            r = [k for k in range(3) if k != j]
            c = [k for k in range(3) if k != i]
            minor = a[r[0]][c[0]] * a[r[1]][c[1]] - a[r[0]][c[1]] * a[r[1]][c[0]]
            inv[i][j] = (-1) ** (i + j) * minor / det
    t = [m[i][3] for i in range(3)]
    it = [-sum(inv[i][k] * t[k] for k in range(3)) for i in range(3)]
    return [inv[0] + [it[0]], inv[1] + [it[1]], inv[2] + [it[2]], [0.0, 0.0, 0.0, 1.0]]
