"""Body forces (dissertation Eq. 2.5): Boussinesq buoyancy and vorticity confinement.

Both act on the MAC faces in solver units (cells, frames): forces are computed at cell centres
and averaged onto the two cells' shared face. Faces fixed by walls and obstacles are reset by
`Cells.enforce` afterwards (the solver does).
"""

from __future__ import annotations

from . import kernels
from .grid import Cells, State
from .reference import to_faces

__all__ = ["add_buoyancy", "add_vorticity_confinement"]


def add_buoyancy(state: State, cells: Cells, accel: tuple[float, float, float],
                 dt: float) -> None:
    """u += dt * accel * density: smoke lighter than air rises along `accel` (cells/frame^2
    per unit density; +y is up)."""
    for d, face in enumerate(state.faces):
        if accel[d] != 0.0:
            face.add_(to_faces(state.density, d), alpha=dt * accel[d])


def add_vorticity_confinement(state: State, cells: Cells, strength: float, dt: float,
                              backend: str = "native") -> None:
    """Fedkiw et al. 2001: f = strength * (N x w), N = grad|w| / |grad|w||, w = curl u;
    re-injects the small-scale rotation that advection smooths away (h = 1 cell)."""
    if strength != 0.0:
        kernels.vorticity_confinement(*state.faces, cells.solid, strength, dt, backend=backend)
