"""Thin wrappers over the solver's native kernels (STYLE.md rules 1-3): every op takes
`backend="native" | "torch"`; "torch" runs the reference in `billow.sim.reference`. Only this
module touches `billow._kernels`.

All tensors are CPU float32 and contiguous, `[x, y, z]` (2D: Z = 1).
"""

from __future__ import annotations

import torch

from .._native import cuda_kernels, kernels
from ..errors import InputError
from . import reference

BACKENDS = ("native", "torch")
PRECONDITIONERS = ("none", "jacobi", "mic", "multigrid")  # the native CG loop takes the first 3
ORDERS = {"semi-lagrangian": 0, "maccormack": 1}
LAYOUTS = ("cell", "u", "v", "w")


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise InputError(f"backend '{backend}': choose {' or '.join(BACKENDS)}")


def on_cuda(t: torch.Tensor) -> bool:
    """Native ops on CUDA tensors run the CUDA kernels (billow/cpp_kernels/*.cu)."""
    return t.device.type == "cuda"


def _np(t: torch.Tensor):
    if t.dtype != torch.float32 or t.device.type != "cpu" or not t.is_contiguous():
        raise ValueError("solver kernels need contiguous CPU float32 tensors")
    return t.numpy()


def advect(q: torch.Tensor, layout: str, u, v, w, dt: float, order: str = "maccormack",
           backend: str = "native") -> torch.Tensor:
    """`q` stored on `layout` ("cell" centres or "u"/"v"/"w" faces) carried by the MAC
    velocity (u, v, w) in cells/frame for `dt` frames."""
    _check_backend(backend)
    code, lay = ORDERS[order], LAYOUTS.index(layout)
    if backend == "torch":
        return reference.advect(q, lay, u, v, w, dt, code)
    if on_cuda(q):
        return cuda_kernels().sim_advect(q, lay, u, v, w, float(dt), code)
    out = torch.empty_like(q)
    kernels().sim_advect(_np(q), lay, _np(u), _np(v), _np(w), float(dt), code, _np(out))
    return out


def laplace_apply(system, p: torch.Tensor, backend: str = "native") -> torch.Tensor:
    """A p for the pressure matrix `system` = (diag, ax, ay, az)."""
    _check_backend(backend)
    if backend == "torch":
        return reference.laplace_apply(*system, p)
    if on_cuda(p):
        return cuda_kernels().sim_laplace_apply(*system, p)
    out = torch.empty_like(p)
    kernels().sim_laplace_apply(*map(_np, system), _np(p), _np(out))
    return out


def mic_build(system, blocks: int = 1, tau: float = 0.97, sigma: float = 0.25,
              backend: str = "native") -> torch.Tensor:
    """The MIC(0) factor's inverse diagonal (Bridson Fig. 5.7)."""
    _check_backend(backend)
    if backend == "torch":
        return reference.mic_build(*system, blocks, tau, sigma)
    prec = torch.empty_like(system[0])
    kernels().sim_mic_build(*map(_np, system), int(blocks), float(tau), float(sigma), _np(prec))
    return prec


def mic_apply(system, prec: torch.Tensor, r: torch.Tensor, blocks: int = 1,
              backend: str = "native") -> torch.Tensor:
    """(L L^T)^-1 r with the MIC(0) factor."""
    _check_backend(backend)
    if backend == "torch":
        return reference.mic_apply(*system, prec, blocks, r)
    z = torch.empty_like(r)
    kernels().sim_mic_apply(*map(_np, system), _np(prec), int(blocks), _np(r), _np(z))
    return z


def pcg(system, b: torch.Tensor, x: torch.Tensor, *, precond: str = "mic",
        prec: torch.Tensor | None = None, blocks: int = 1, abs_tol: float = 1e-4,
        max_iter: int = 1000, backend: str = "native", multigrid=None) -> tuple[int, float]:
    """Solve A x = b by preconditioned CG, warm-started from `x` (updated in place); stops at
    max |residual| <= abs_tol. Returns (iterations, max |residual|). The multigrid
    preconditioner (`multigrid`: a `billow.sim.multigrid.Multigrid`) runs the CG loop in torch
    around the native stencil and smoothing kernels."""
    _check_backend(backend)
    if precond not in PRECONDITIONERS:
        raise InputError(f"preconditioner '{precond}': choose {', '.join(PRECONDITIONERS)}")
    if precond == "mic" and prec is None:
        raise ValueError("pcg: the MIC preconditioner needs `prec` from mic_build")
    if precond == "multigrid":
        if multigrid is None:
            raise ValueError("pcg: the multigrid preconditioner needs `multigrid`")
        return reference.pcg(*system, None, "none", 1, b, x, abs_tol, max_iter,
                             apply_a=lambda p: laplace_apply(system, p, backend),
                             apply_m=multigrid)
    if backend == "torch":
        return reference.pcg(*system, prec, precond, blocks, b, x, abs_tol, max_iter)
    if on_cuda(b):  # the CG loop in torch on the device, the stencil in CUDA
        return reference.pcg(*system, prec, precond, blocks, b, x, abs_tol, max_iter,
                             apply_a=lambda p: laplace_apply(system, p))
    dummy = prec if prec is not None else system[0]
    it, res = kernels().sim_pcg(*map(_np, system), _np(dummy), precond, int(blocks), _np(b),
                                _np(x), float(abs_tol), int(max_iter))
    return int(it), float(res)


def vorticity_confinement(u, v, w, solid: torch.Tensor, strength: float, dt: float,
                          backend: str = "native") -> None:
    """Add dt * strength * (N x curl u) to the faces in place (no force in `solid` cells;
    faces fixed by walls or obstacles are the caller's to reset)."""
    _check_backend(backend)
    if backend == "torch" or on_cuda(u):
        return reference.vorticity_confinement(u, v, w, solid, strength, dt)
    if solid.dtype != torch.bool or not solid.is_contiguous():
        raise ValueError("vorticity_confinement: solid must be a contiguous bool tensor")
    kernels().sim_vorticity_confinement(_np(u), _np(v), _np(w), solid.numpy(), float(strength),
                                        float(dt))


def jacobi_smooth(system, r: torch.Tensor, x: torch.Tensor, omega: float = 2 / 3,
                  backend: str = "native") -> torch.Tensor:
    """One damped Jacobi sweep of A x = r: x + omega (r - A x) / diag (0 off the fluid)."""
    _check_backend(backend)
    if backend == "torch" or on_cuda(r):
        return reference.jacobi_smooth(*system, r, x, omega)
    out = torch.empty_like(x)
    kernels().sim_jacobi_smooth(*map(_np, system), _np(r), _np(x), float(omega), _np(out))
    return out
