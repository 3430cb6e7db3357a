"""The native kernels agree with their pure-torch references (STYLE.md rule 3)."""

from __future__ import annotations

import pytest
import torch
from billow.sim import Domain, PressureConfig, Solver, SolverConfig, preset
from billow.sim import kernels as K
from billow.sim.grid import Cells
from billow.sim.pressure import build_system

from .conftest import needs_native

pytestmark = needs_native
SHAPES = [(12, 10, 8), (9, 7, 1)]  # 3D and 2D (Z = 1)


def mac(shape, seed=0, scale=1.5):
    g = torch.Generator().manual_seed(seed)
    x, y, z = shape
    u = torch.randn(x + 1, y, z, generator=g) * scale
    v = torch.randn(x, y + 1, z, generator=g) * scale
    w = torch.randn(x, y, z + 1, generator=g) * scale * (z > 1)
    return u, v, w


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("order", ["semi-lagrangian", "maccormack"])
def test_advection_native_matches_torch(shape, order):
    u, v, w = mac(shape)
    fields = {"cell": torch.rand(shape, generator=torch.Generator().manual_seed(1)),
              "u": u, "v": v, "w": w}
    for layout, q in fields.items():
        a = K.advect(q, layout, u, v, w, 0.8, order, backend="native")
        b = K.advect(q, layout, u, v, w, 0.8, order, backend="torch")
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def system(shape, seed=0):
    domain = Domain(shape if shape[2] > 1 else shape[:2])
    solid = torch.rand(shape, generator=torch.Generator().manual_seed(seed)) > 0.85
    return build_system(domain, Cells.build(domain, solid))


@pytest.mark.parametrize("shape", SHAPES)
def test_pressure_kernels_native_match_torch(shape):
    sys_ = system(shape)
    g = torch.Generator().manual_seed(3)
    p = torch.randn(shape, generator=g)
    torch.testing.assert_close(K.laplace_apply(sys_, p), K.laplace_apply(sys_, p, "torch"),
                               rtol=0, atol=1e-6)
    r = torch.randn(shape, generator=g) * (sys_[0] > 0)
    for blocks in (1, 2, 3):
        prec = K.mic_build(sys_, blocks)
        torch.testing.assert_close(prec, K.mic_build(sys_, blocks, backend="torch"),
                                   rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(K.mic_apply(sys_, prec, r, blocks),
                                   K.mic_apply(sys_, prec, r, blocks, backend="torch"),
                                   rtol=1e-5, atol=1e-6)
    for precond in ("none", "jacobi", "mic"):
        xs, its = [], []
        for backend in ("native", "torch"):
            x = torch.zeros(shape)
            it, _ = K.pcg(sys_, r, x, precond=precond, prec=K.mic_build(sys_, 2), blocks=2,
                          abs_tol=1e-6, backend=backend)
            xs.append(x)
            its.append(it)
        assert abs(its[0] - its[1]) <= 1
        torch.testing.assert_close(xs[0], xs[1], rtol=1e-4, atol=1e-5)


def test_preconditioner_is_chosen_by_name():
    """The native CG loop takes the preconditioner's name; an unknown one is refused by name,
    in the wrapper (an input error) and in the kernel itself."""
    from billow._native import kernels
    from billow.errors import InputError

    sys_ = system((6, 5, 4))
    b = torch.rand(6, 5, 4, generator=torch.Generator().manual_seed(1)) * (sys_[0] > 0)
    with pytest.raises(InputError, match="preconditioner 'ilu'"):
        K.pcg(sys_, b, torch.zeros_like(b), precond="ilu")
    arrays = [t.numpy() for t in sys_]
    with pytest.raises(ValueError, match="precond 'ilu'.*none, jacobi or mic"):
        kernels().sim_pcg(*arrays, arrays[0], "ilu", 1, b.numpy(), torch.zeros_like(b).numpy(),
                          1e-6, 10)


@pytest.mark.parametrize("shape", SHAPES)
def test_vorticity_confinement_native_matches_torch(shape):
    faces = mac(shape, seed=4)
    solid = torch.rand(shape, generator=torch.Generator().manual_seed(5)) > 0.8
    a, b = [t.clone() for t in faces], [t.clone() for t in faces]
    K.vorticity_confinement(*a, solid, 0.3, 0.7, backend="native")
    K.vorticity_confinement(*b, solid, 0.3, 0.7, backend="torch")
    for d, (x, y, f) in enumerate(zip(a, b, faces)):
        if d < 2 or shape[2] > 1:
            assert (x - f).abs().max() > 0.01  # the force did something
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dim", [2, 3])
def test_whole_solver_native_matches_torch(dim):
    runs = []
    for backend in ("native", "torch"):
        s = Solver(Domain((16,) * dim), preset("obstacle", dim), SolverConfig(backend=backend),
                   PressureConfig(tolerance=1e-6))
        for _ in range(6):
            s.advance_frame()
        runs.append(s)
    torch.testing.assert_close(runs[0].state.density, runs[1].state.density, rtol=0, atol=1e-4)
    torch.testing.assert_close(runs[0].velocity(), runs[1].velocity(), rtol=0, atol=1e-4)


def test_bad_kernel_arguments_are_value_errors():
    u, v, w = mac((6, 6, 6))
    with pytest.raises(ValueError):
        K.advect(torch.zeros(5, 6, 6), "cell", u, v, w, 1.0)  # wrong shape for its layout
    with pytest.raises(ValueError):
        K.advect(torch.zeros(6, 6, 6, dtype=torch.float64), "cell", u, v, w, 1.0)


@pytest.mark.parametrize("shape", SHAPES)
def test_multigrid_native_matches_torch(shape):
    from billow.sim.multigrid import Multigrid

    sys_ = system(shape)
    r = torch.randn(shape, generator=torch.Generator().manual_seed(6)) * (sys_[0] > 0)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(K.jacobi_smooth(sys_, r, x), K.jacobi_smooth(sys_, r, x,
                                                                          backend="torch"),
                               rtol=1e-5, atol=1e-6)
    a = Multigrid(sys_, backend="native")(r)
    b = Multigrid(sys_, backend="torch")(r)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
