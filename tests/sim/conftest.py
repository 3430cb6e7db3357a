"""Small scenes shared by the solver tests."""

from __future__ import annotations

import pytest
from billow._native import native_available
from billow.sim import DensitySource, Scene, Shape

needs_native = pytest.mark.skipif(not native_available(),
                                  reason="billow._kernels is not built (pip install -e .)")


def symmetric_scene() -> Scene:
    """A noise-free plume under a centred plate: mirror-symmetric about x = 0.5."""
    return Scene("symmetric", [DensitySource(Shape("sphere", (0.5, 0.15, 0.5), (0.1,) * 3),
                                             noise=None)],
                 obstacles=[Shape("box", (0.5, 0.45, 0.5), (0.08, 0.03, 0.08))],
                 buoyancy=(0.0, 2.0, 0.0), vorticity=0.05)


def closed_box_scene() -> Scene:
    """One puff of smoke in a box with walls on every side."""
    return Scene("box", [DensitySource(Shape("sphere", (0.5, 0.3, 0.5), (0.15,) * 3), noise=None,
                                       start=0, end=1)],
                 buoyancy=(0.1, 0.3, 0.0), vorticity=0.05,
                 boundaries="wall wall wall wall wall wall")
