"""Index-to-world transforms as 4x4 matrices in OpenVDB's row-vector convention:
`[x y z 1] = [i j k 1] @ M`, so the linear part is `M[:3, :3]` and the translation `M[3, :3]`.

OpenVDB voxels are vertex-centred: index (i, j, k) sits exactly at `[i j k 1] @ M`.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .openvdb_module import openvdb

AXES = "xyz"


def matrix_from_vdb(transform) -> np.ndarray:
    """The 4x4 matrix of a linear OpenVDB transform (read off its index-to-world map)."""
    if not transform.isLinear:
        raise InputError(
            f"non-linear (frustum) transform {transform.typeName!r} is not supported; "
            "resample the grid to a linear transform first"
        )
    origin = np.array(transform.indexToWorld((0.0, 0.0, 0.0)))
    m = np.eye(4)
    for axis in range(3):
        unit = [0.0, 0.0, 0.0]
        unit[axis] = 1.0
        m[axis, :3] = np.array(transform.indexToWorld(tuple(unit))) - origin
    m[3, :3] = origin
    return m


def matrix_to_vdb(matrix: np.ndarray):
    return openvdb().createLinearTransform([[float(v) for v in row] for row in matrix])


def voxel_sizes(matrix: np.ndarray) -> np.ndarray:
    """Length of each index axis in world units."""
    return np.linalg.norm(np.asarray(matrix)[:3, :3], axis=1)


def index_to_world(matrix: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    ijk = np.asarray(ijk, dtype=np.float64)
    return ijk @ matrix[:3, :3] + matrix[3, :3]


def world_to_index(matrix: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    xyz = np.asarray(xyz, dtype=np.float64)
    return (xyz - matrix[3, :3]) @ np.linalg.inv(matrix[:3, :3])


def upres_matrix(matrix: np.ndarray, factor: int) -> np.ndarray:
    """Transform of an output grid `factor` times finer that overlays the input exactly.

    Input voxel i covers index space [i - 1/2, i + 1/2]; its `factor` sub-voxels are centred at
    `i + (s + 1/2) / factor - 1/2` for s in 0..factor-1. With output index o = factor * i + s,
    output index o lies at input index `(o + 1/2) / factor - 1/2`: scale by 1/factor, then shift
    the origin by `(1/(2 factor) - 1/2)` input voxels along every axis (DESIGN.md).
    """
    if int(factor) != factor or factor < 1:
        raise InputError(f"upres factor must be a positive integer, got {factor}")
    m = np.array(matrix, dtype=np.float64)
    out = m.copy()
    out[:3, :3] = m[:3, :3] / factor
    out[3, :3] = m[3, :3] + (0.5 / factor - 0.5) * m[:3, :3].sum(axis=0)
    return out


def is_axis_aligned(matrix: np.ndarray, tol: float = 1e-9) -> bool:
    lin = np.asarray(matrix)[:3, :3]
    return bool(np.all(np.abs(lin - np.diag(np.diag(lin))) <= tol * np.abs(lin).max()))


def up_axis_rotation(src: str, dst: str = "y") -> np.ndarray:
    """3x3 rotation R (acting on column vectors, v' = R v) that takes `src` up to `dst` up.

    Blender (z up) to Houdini/OpenVDB (y up) is the usual -90 degree turn about x:
    (x, y, z) -> (x, z, -y), which keeps handedness and the x axis.
    """
    src, dst = src.lower(), dst.lower()
    for axis in (src, dst):
        if axis not in ("y", "z"):
            raise InputError(f"up axis must be 'y' or 'z', got '{axis}'")
    if src == dst:
        return np.eye(3)
    z_to_y = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])
    return z_to_y if src == "z" else z_to_y.T
