"""The smoke solver: operator splitting of the Euler equations (dissertation Eq. 2.3-2.6) on a
MAC grid, the standard scheme of the reference data generator (Stam 1999 with MacCormack
advection and a MIC-preconditioned CG pressure solve).

One substep of length dt (frames):
1. density inflow (sources.py);
2. advection of density and of the three face velocities through the old velocity
   (Eq. 2.4; MacCormack with clamping, Eq. 2.8, or semi-Lagrangian, Eq. 2.7);
3. body forces (Eq. 2.5): buoyancy, vorticity confinement; velocity sources;
4. pressure projection (Eq. 2.6, 2.9).
A frame is split into ceil(max |u| / cfl) substeps (at most `max_substeps`), so no sample
travels more than `cfl` cells per substep.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from ..config import option
from ..errors import InputError
from .forces import add_buoyancy, add_vorticity_confinement
from .grid import Cells, Domain, State, centred_velocity
from .kernels import BACKENDS, ORDERS, advect
from .pressure import PressureConfig, Projection
from .scenes import Scene
from .sources import CompiledSources, obstacle_mask


@dataclass(frozen=True)
class SolverConfig:
    """Time stepping and advection."""

    advection: str = option("maccormack", "advection scheme: maccormack (with clamping) or "
                            "semi-lagrangian", choices=tuple(ORDERS))
    cfl: float = option(2.0, "largest distance in cells a sample may travel per substep")
    max_substeps: int = option(8, "substep limit per frame")
    backend: str = option("native", "kernels: native (C++/OpenMP, or CUDA on a GPU device) or "
                          "torch (reference)", choices=BACKENDS)
    device: str = option("cpu", "where to simulate: cpu, or cuda / cuda:N (MIC falls back to the "
                         "Jacobi preconditioner there)")


class Solver:
    """Simulates a `Scene` on a `Domain`; `advance_frame()` steps one frame."""

    def __init__(self, domain: Domain, scene: Scene, config: SolverConfig | None = None,
                 pressure: PressureConfig | None = None, obstacle_voxels=None):
        config, pressure = config or SolverConfig(), pressure or PressureConfig()
        domain = Domain(domain.res, scene.boundaries, domain.fps)  # the scene's sides
        self.domain, self.scene, self.config = domain, scene, config
        try:
            self.device = torch.device(config.device)
        except RuntimeError as e:
            raise InputError(f"device '{config.device}': {e}") from e
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device '{config.device}': this torch has no CUDA device")
        cells = Cells.build(domain, obstacle_mask(domain, scene.obstacles, obstacle_voxels))
        self.cells = cells.to(self.device)
        self.sources = CompiledSources(domain, scene.density_sources, scene.velocity_sources)
        self.projection = Projection(domain, cells, pressure, config.backend, self.device)
        accel = [domain.to_cells(b, power=2) for b in scene.buoyancy]
        if domain.dim == 2:
            accel[2] = 0.0
        self.buoyancy = tuple(accel)
        self.state = State.zeros(domain.shape).to(self.device)
        self.time = 0.0  # frames
        self.timings = {"sources": 0.0, "advection": 0.0, "forces": 0.0, "pressure": 0.0}

    def _advect(self, dt: float) -> None:
        s, order, backend = self.state, self.config.advection, self.config.backend
        vel = (s.u, s.v, s.w)
        density = advect(s.density, "cell", *vel, dt, order, backend)
        faces = [advect(f, lay, *vel, dt, order, backend)
                 for f, lay in zip(vel[: self.domain.dim], "uvw")]
        if self.domain.dim == 2:
            faces.append(s.w)  # no z motion in 2D
        s.density, (s.u, s.v, s.w) = density, faces

    def step(self, dt: float) -> dict:
        """One substep of `dt` frames."""
        s, t = self.state, time.perf_counter
        t0 = t()
        self.sources.apply_density(s.density, s.frame, self.time)
        t1 = t()
        self._advect(dt)
        self.cells.enforce(s)
        t2 = t()
        add_buoyancy(s, self.cells, self.buoyancy, dt)
        add_vorticity_confinement(s, self.cells, self.scene.vorticity, dt, self.config.backend)
        self.sources.apply_velocity(s.faces, s.frame)
        self.cells.enforce(s)
        t3 = t()
        stats = self.projection(s)
        t4 = t()
        for key, dur in zip(self.timings, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            self.timings[key] += dur
        self.time += dt
        return stats

    def substeps(self) -> int:
        umax = max(float(f.abs().max()) for f in self.state.faces)
        if not math.isfinite(umax):
            return 1
        return max(1, min(self.config.max_substeps, math.ceil(umax / self.config.cfl)))

    def advance_frame(self) -> dict:
        """Simulate one frame; returns substeps, CG iterations, worst relative residual."""
        start = time.perf_counter()
        n = self.substeps()
        iters, res = 0, 0.0
        for _ in range(n):
            st = self.step(1.0 / n)
            iters += st["iterations"]
            res = max(res, st["residual"])
        self.state.frame += 1
        return {"substeps": n, "cg_iterations": iters, "residual": res,
                "seconds": time.perf_counter() - start}

    # outputs ------------------------------------------------------------------------------

    def set_state(self, state: State, time_frames: float) -> None:
        """Continue from a saved state (a checkpoint)."""
        self.state, self.time = state.to(self.device), time_frames

    def density(self) -> torch.Tensor:
        """(X, Y[, Z]) density, on the CPU."""
        d = self.state.density.cpu()
        return d[..., 0] if self.domain.dim == 2 else d

    def velocity(self) -> torch.Tensor:
        """(D, X, Y[, Z]) cell-centred velocity in cells per frame, on the CPU."""
        v = centred_velocity(*self.state.faces).cpu()
        return v[:2, ..., 0] if self.domain.dim == 2 else v
