"""Fixtures for the Houdini plugin's tests. Houdini is not needed: the plugin's plain modules
are imported from plugin_houdini/python, the engine runs for real as a subprocess."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugin_houdini"
sys.path.insert(0, str(PLUGIN / "python"))

# The engine as a Houdini artist would configure it: `python -m billow` of billow's venv.
ENGINE = [sys.executable, "-m", "billow"]
VOXEL, FPS = 0.1, 24.0


@pytest.fixture(scope="session")
def toy_model(tmp_path_factory):
    from tests.infer.toy_model import export_toy

    return export_toy(tmp_path_factory.mktemp("models"))


def tiny_frame(path: Path, shift: float = 0.0) -> Path:
    """A small Houdini-style frame: `density` and vector `vel` (world units/s), y-up."""
    from billow.io import Volume, write_vdb

    from ..conftest import blob, scaled_matrix

    shape = (14, 12, 10)
    d = blob(shape, (6 + shift, 6, 5), 2.5)
    v = np.zeros(shape + (3,), np.float32)
    v[d > 0] = (0.6, 2.4, -0.3)
    m = scaled_matrix(VOXEL, (0.2, -0.1, 0.5))
    grids = [Volume("density", d, (2, -3, 4), m),
             Volume("vel", v, (2, -3, 4), m, vector_type="contravariant relative")]
    return write_vdb(path, grids, metadata={})


@pytest.fixture
def tiny_cache(tmp_path):
    """Frames 1-3 of `cache/pyro.####.vdb` under a fake $HIP (tmp_path)."""
    for f in (1, 2, 3):
        tiny_frame(tmp_path / "geo" / f"pyro.{f:04d}.vdb", shift=0.4 * f)
    return tmp_path


def load_onnx_for_sop():
    """tools/onnx_for_sop.py as a module (a development tool, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "onnx_for_sop", PLUGIN.parent / "tools" / "onnx_for_sop.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
