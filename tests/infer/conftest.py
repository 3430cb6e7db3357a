from __future__ import annotations

import numpy as np
import pytest

from billow.io import Volume, write_vdb

from ..conftest import blob, scaled_matrix
from .toy_model import export_toy


@pytest.fixture(scope="session")
def toy_model(tmp_path_factory):
    return export_toy(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def nearest_model(tmp_path_factory):
    return export_toy(tmp_path_factory.mktemp("models"), "nearest_x4", kind="nearest")


def smoke_frame(path, shift=0.0, voxel=0.1, origin=(0.3, -0.2, 1.0), vel_value=(0.0, 2.4, 0.0),
                extra=None):
    """Two blobs far apart in a 40x24x24 region (lots of empty space), rising velocity."""
    shape = (40, 24, 24)
    d = blob(shape, (8 + shift, 10, 12), 3.0) + 0.7 * blob(shape, (30, 12, 9), 2.5)
    v = np.zeros(shape + (3,), np.float32)
    v[d > 0] = vel_value
    m = scaled_matrix(voxel, origin)
    grids = [Volume("density", d, (3, -2, 5), m), Volume("vel", v, (3, -2, 5), m,
                                                          vector_type="contravariant relative")]
    for name, data in (extra or {}).items():
        grids.append(Volume(name, data, (3, -2, 5), m))
    return write_vdb(path, grids, metadata={})


@pytest.fixture
def smoke_seq(tmp_path):
    for f in range(1, 5):
        smoke_frame(tmp_path / "in" / f"smoke.{f:04d}.vdb", shift=0.5 * f)
    return tmp_path / "in" / "smoke.####.vdb"
