"""Pressure projection (dissertation Eq. 2.6, 2.9): make the MAC velocity divergence-free.

With dt folded into the pressure, Eq. 2.9 reads  -Lap p = -div u  on the fluid cells, i.e.
A p = b with Bridson's 7-point matrix A (positive definite; walls and obstacles are Neumann,
open sides Dirichlet p = 0 just outside) and b = -div u; then u <- u - grad p on every face
that is not fixed by a wall or an obstacle. The system is solved by preconditioned CG with
MIC(0) (the reference data generator's choice), a multigrid V-cycle (multigrid.py), Jacobi
(GPU-friendly) or none, warm-started
from the previous pressure, until max |div u| <= tolerance * max |u| per cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import option
from . import kernels
from .grid import SIDES, Cells, Domain, State, divergence
from .multigrid import Multigrid


@dataclass(frozen=True)
class PressureConfig:
    """Pressure solve settings."""

    preconditioner: str = option("mic", "CG preconditioner: mic (MIC(0), fastest on a few CPU "
                                 "cores), multigrid (V-cycle; fewest iterations, parallel), "
                                 "jacobi (GPU-friendly) or none",
                                 choices=tuple(kernels.PRECONDITIONERS))
    tolerance: float = option(1e-3, "stop when max |divergence| per cell is below this "
                              "fraction of max |velocity|")
    max_iterations: int = option(2000, "CG iteration limit per solve")
    mic_blocks: int = option(2, "MIC(0) slabs solved in parallel (1 = classic sequential "
                             "MIC; results depend on this, not on the thread count)")
    warm_start: bool = option(True, "start each solve from the previous pressure")


def build_system(domain: Domain, cells: Cells):
    """(diag, ax, ay, az) of A, float32 (X, Y, Z); rows of solid cells are zero."""
    fluid = (~cells.solid).float()
    shape = domain.shape
    diag = torch.zeros(shape, dtype=torch.float32)
    couplings = []
    for d in range(3):
        n = shape[d]
        both = fluid.narrow(d, 0, n - 1) * fluid.narrow(d, 1, n - 1)
        a = torch.zeros(shape, dtype=torch.float32)
        a.narrow(d, 0, n - 1).copy_(-both)
        couplings.append(a.contiguous())
        # neighbours inside the grid that are fluid
        diag.narrow(d, 0, n - 1).add_(fluid.narrow(d, 1, n - 1))
        diag.narrow(d, 1, n - 1).add_(fluid.narrow(d, 0, n - 1))
        # open sides: a Dirichlet ghost beyond the boundary cell
        lo, hi = SIDES[2 * d], SIDES[2 * d + 1]
        if domain.boundaries[lo] == "open":
            diag.narrow(d, 0, 1).add_(1.0)
        if domain.boundaries[hi] == "open":
            diag.narrow(d, n - 1, 1).add_(1.0)
    diag *= fluid
    return (diag.contiguous(), *couplings)


def gradient_update(state: State, cells: Cells, p: torch.Tensor) -> None:
    """u <- u - grad p on the free faces; p is 0 beyond the domain (open sides)."""
    for d, (face, fixed) in enumerate(zip(state.faces, cells.face_fixed)):
        pad = [0, 0] * 3
        pad[2 * (2 - d)] = pad[2 * (2 - d) + 1] = 1
        pp = torch.nn.functional.pad(p, pad)
        n = p.shape[d]
        grad = pp.narrow(d, 1, n + 1) - pp.narrow(d, 0, n + 1)
        face.sub_(grad.masked_fill_(fixed, 0.0))


class Projection:
    """Holds the matrix and its preconditioner for a static set of obstacles."""

    def __init__(self, domain: Domain, cells: Cells, config: PressureConfig | None = None,
                 backend: str = "native", device="cpu"):
        device, config = torch.device(device), config or PressureConfig()
        self.domain, self.config, self.backend = domain, config, backend
        self.cells = cells.to(device)
        cpu_cells = cells.to("cpu")
        system = build_system(domain, cpu_cells)
        self.singular = not any(k == "open" for k in domain.boundaries.values())
        self.blocks = max(1, min(config.mic_blocks, domain.shape[0]))
        self.preconditioner = config.preconditioner
        if device.type == "cuda" and self.preconditioner == "mic":
            self.preconditioner = "jacobi"  # MIC(0) is sequential; Jacobi parallelises
        self.prec = None
        if self.preconditioner == "mic":
            self.prec = kernels.mic_build(system, self.blocks, backend=backend).to(device)
        self.system = tuple(t.to(device) for t in system)
        self.fluid = self.system[0] > 0
        self.multigrid = (Multigrid(self.system, backend=backend)
                          if self.preconditioner == "multigrid" else None)

    def rhs(self, state: State) -> torch.Tensor:
        b = (-divergence(*state.faces)).masked_fill_(~self.fluid, 0.0)
        if self.singular:  # closed box: A has the constants as null space; make b compatible
            b -= self.fluid * (b.sum() / self.fluid.sum().clamp_min(1))
        return b.contiguous()

    def __call__(self, state: State) -> dict:
        """Project `state` in place; returns the solve's statistics."""
        b = self.rhs(state)
        scale = max(float(max(f.abs().max() for f in state.faces)), 1e-6)
        x = state.pressure if self.config.warm_start else torch.zeros_like(state.pressure)
        x.masked_fill_(~self.fluid, 0.0)
        it, res = kernels.pcg(self.system, b, x, precond=self.preconditioner,
                              prec=self.prec, blocks=self.blocks,
                              abs_tol=self.config.tolerance * scale,
                              max_iter=self.config.max_iterations, backend=self.backend,
                              multigrid=self.multigrid)
        state.pressure = x
        gradient_update(state, self.cells, x)
        return {"iterations": it, "residual": res / scale}
