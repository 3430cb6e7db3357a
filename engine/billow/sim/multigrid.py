"""A geometric multigrid V-cycle as the CG preconditioner (after McAdams, Sifakis & Teran 2010,
"A parallel multigrid Poisson solver for fluids simulation on large grids").

Unlike MIC(0) it is made of parallel sweeps only (GPU-friendly), and its CG iteration count
barely grows with the resolution. Levels halve every axis of more than one cell. Prolongation P
copies a coarse value to its 2^D children (piecewise constant), restriction is P^T, and each
coarse matrix is the Galerkin product P^T A P, computed exactly from the fine couplings, so
obstacles and open sides carry over without re-deriving flags. Smoothing is damped Jacobi
(omega = 2/3), the same number of sweeps before and after the coarse correction, and many
sweeps on the coarsest level: the V-cycle is a symmetric positive definite operator, as CG
needs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import kernels

OMEGA = 2.0 / 3.0


def _pad_even(t: torch.Tensor, coarsen: tuple[bool, bool, bool]) -> torch.Tensor:
    pad = []
    for d in (2, 1, 0):  # F.pad lists the last axis first
        pad += [0, int(coarsen[d] and t.shape[d] % 2)]
    return F.pad(t, pad) if any(pad) else t


def _blocks(t: torch.Tensor, coarsen) -> torch.Tensor:
    """(X, Y, Z) -> (X/2, 2, Y/2, 2, Z/2, 2) view (size-1 block axes where not coarsened)."""
    t = _pad_even(t, coarsen)
    shape = []
    for d, n in enumerate(t.shape):
        shape += [n // 2, 2] if coarsen[d] else [n, 1]
    return t.reshape(shape)


def restrict(r: torch.Tensor, coarsen) -> torch.Tensor:
    """P^T r: the sum over each coarse cell's children."""
    return _blocks(r, coarsen).sum(dim=(1, 3, 5))


def prolong(e: torch.Tensor, coarsen, fine_shape) -> torch.Tensor:
    """P e: every child takes its coarse cell's value."""
    x, y, z = e.shape
    f = [2 if c else 1 for c in coarsen]
    e = e[:, None, :, None, :, None].expand(x, f[0], y, f[1], z, f[2])
    e = e.reshape(x * f[0], y * f[1], z * f[2])
    return e[: fine_shape[0], : fine_shape[1], : fine_shape[2]]


def galerkin(system, coarsen):
    """P^T A P for piecewise-constant P on Bridson's 7-point layout: a coarse coupling sums the
    fine couplings across the coarse face; the diagonal sums the children's diagonals and twice
    their couplings inside the block."""
    diag, ax, ay, az = (_blocks(t, coarsen) for t in system)
    sum_blocks = (1, 3, 5)
    diag_c = diag.sum(dim=sum_blocks)
    couplings = []
    for d, a in enumerate((ax, ay, az)):
        axis = 2 * d + 1
        if coarsen[d]:
            diag_c = diag_c + 2.0 * a.narrow(axis, 0, 1).sum(dim=sum_blocks)  # child 0 -> 1
            couplings.append(a.narrow(axis, 1, 1).sum(dim=sum_blocks))  # child 1 -> next block
        else:
            couplings.append(a.sum(dim=sum_blocks))
    return tuple(t.contiguous() for t in (diag_c, *couplings))


class Multigrid:
    """V-cycle preconditioner for a pressure system (diag, ax, ay, az)."""

    def __init__(self, system, sweeps: int = 2, coarsest: int = 4, coarse_sweeps: int = 30,
                 backend: str = "native"):
        self.sweeps, self.coarse_sweeps, self.backend = sweeps, coarse_sweeps, backend
        self.levels = [system]
        self.coarsen = []
        while True:
            shape = self.levels[-1][0].shape
            co = tuple(n > coarsest for n in shape)
            if not any(co):
                break
            self.coarsen.append(co)
            self.levels.append(galerkin(self.levels[-1], co))

    def _smooth(self, level: int, r, x, sweeps: int):
        sys_ = self.levels[level]
        for _ in range(sweeps):
            x = kernels.jacobi_smooth(sys_, r, x, OMEGA, backend=self.backend)
        return x

    def _vcycle(self, level: int, r: torch.Tensor) -> torch.Tensor:
        sys_ = self.levels[level]
        if level == len(self.levels) - 1:
            return self._smooth(level, r, torch.zeros_like(r), self.coarse_sweeps)
        x = self._smooth(level, r, torch.zeros_like(r), self.sweeps)
        res = r - kernels.laplace_apply(sys_, x, backend=self.backend)
        co = self.coarsen[level]
        e = self._vcycle(level + 1, restrict(res, co).contiguous())
        x = x + prolong(e, co, r.shape)
        x = x.masked_fill_(sys_[0] <= 0, 0.0)
        return self._smooth(level, r, x, self.sweeps)

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        return self._vcycle(0, r.contiguous())
