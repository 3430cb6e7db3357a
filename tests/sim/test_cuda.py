"""CUDA kernels against the torch references; skipped, with the reason, without a GPU."""

from __future__ import annotations

import pytest
import torch
from billow._native import cuda_kernels_available
from billow.sim import Domain, PressureConfig, Solver, SolverConfig, preset
from billow.sim import kernels as K

from .test_kernels import mac, system

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
              pytest.mark.skipif(torch.cuda.is_available() and not cuda_kernels_available(),
                                 reason="CUDA kernels cannot be built (no nvcc?)")]


@pytest.mark.parametrize("order", ["semi-lagrangian", "maccormack"])
def test_cuda_advection_matches_torch(order):
    u, v, w = mac((12, 10, 8))
    q = torch.rand(12, 10, 8)
    for layout, f in {"cell": q, "u": u, "v": v, "w": w}.items():
        ref = K.advect(f, layout, u, v, w, 0.8, order, backend="torch")
        got = K.advect(f.cuda(), layout, u.cuda(), v.cuda(), w.cuda(), 0.8,
                       order, backend="native")
        torch.testing.assert_close(got.cpu(), ref, rtol=1e-5, atol=1e-5)


def test_cuda_laplace_matches_torch():
    sys_ = system((12, 10, 8))
    p = torch.randn(12, 10, 8)
    got = K.laplace_apply(tuple(t.cuda() for t in sys_), p.cuda())
    torch.testing.assert_close(got.cpu(), K.laplace_apply(sys_, p, backend="torch"),
                               rtol=1e-6, atol=1e-6)


def test_solver_on_cuda_matches_cpu():
    runs = []
    for device in ("cpu", "cuda"):
        s = Solver(Domain((16, 16, 16)), preset("plume", 3), SolverConfig(device=device),
                   PressureConfig(preconditioner="jacobi", tolerance=1e-6))
        for _ in range(5):
            s.advance_frame()
        runs.append(s.density())
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=1e-3)
