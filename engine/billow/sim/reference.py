"""Pure-torch references of the native solver kernels (cpp_kernels/sim_advect.cpp,
sim_pressure.cpp), with the same arithmetic, so that `backend="torch"` runs anywhere and the
tests can compare the two paths. See those files for the conventions (positions in cells,
Bridson's matrix layout, block-parallel MIC(0)).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from ..ops.curl import central_difference, curl

# ---------------------------------------------------------------------------------- advection

LAYOUT_OFFSETS = ((0.5, 0.5, 0.5), (0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0))


def _axis(g: torch.Tensor, n: int):
    if n <= 1:
        zero = torch.zeros_like(g, dtype=torch.long)
        return zero, zero, torch.zeros_like(g)
    g = g.clamp(0.0, float(n - 1))
    i0 = g.long().clamp(max=n - 2)
    return i0, i0 + 1, g - i0.to(g.dtype)


def _lerp(a, b, f):
    return a * (1.0 - f) + b * f


def _stencil(q: torch.Tensor, offset, pos):
    return [_axis(p - o, n) for p, o, n in zip(pos, offset, q.shape)]


def _sample(q: torch.Tensor, st) -> torch.Tensor:
    (a0, a1, fa), (b0, b1, fb), (c0, c1, fc) = st
    c00 = _lerp(q[a0, b0, c0], q[a0, b0, c1], fc)
    c01 = _lerp(q[a0, b1, c0], q[a0, b1, c1], fc)
    c10 = _lerp(q[a1, b0, c0], q[a1, b0, c1], fc)
    c11 = _lerp(q[a1, b1, c0], q[a1, b1, c1], fc)
    return _lerp(_lerp(c00, c01, fb), _lerp(c10, c11, fb), fa)


def _extrema(q: torch.Tensor, st):
    (a0, a1, _), (b0, b1, _), (c0, c1, _) = st
    vals = torch.stack([q[a, b, c] for a in (a0, a1) for b in (b0, b1) for c in (c0, c1)])
    return vals.amin(0), vals.amax(0)


def _positions(shape, offset, device=None):
    axes = [torch.arange(n, dtype=torch.float32, device=device) + o
            for n, o in zip(shape, offset)]
    return torch.meshgrid(*axes, indexing="ij")


def _pair(f: torch.Tensor, d: int) -> torch.Tensor:
    """f[.., i, ..] + f[.., i+1, ..] along axis d (the two faces around a cell)."""
    n = f.shape[d] - 1
    return f.narrow(d, 0, n) + f.narrow(d, 1, n)


def _face_pairs(c: torch.Tensor, d: int) -> torch.Tensor:
    """c[clamp(i-1)] + c[clamp(i)] along axis d: sums over the two cells beside face i."""
    first, last = c.narrow(d, 0, 1), c.narrow(d, c.shape[d] - 1, 1)
    e = torch.cat([first, c, last], dim=d)
    n = c.shape[d] + 1
    return e.narrow(d, 0, n) + e.narrow(d, 1, n)


def velocity_at(layout: int, u, v, w):
    """Velocity at the grid-aligned samples of `layout` (0 cells, 1/2/3 u/v/w faces): the
    face's own value or the mean of the 2 or 4 nearest faces, as the native kernel."""
    faces = (u, v, w)
    if layout == 0:
        return [0.5 * _pair(f, d) for d, f in enumerate(faces)]
    own = layout - 1
    out = []
    for d, f in enumerate(faces):
        out.append(f if d == own else 0.25 * _face_pairs(_pair(f, d), own))
    return out


def _advect_positions(shape, layout, vel, dt):
    pos = _positions(shape, LAYOUT_OFFSETS[layout], vel[0].device)
    return [p - dt * c for p, c in zip(pos, vel)]


def advect(q, layout: int, u, v, w, dt: float, order: int) -> torch.Tensor:
    """Reference of `sim_advect`: order 0 semi-Lagrangian (Eq. 2.7), 1 MacCormack with
    clamping (Eq. 2.8)."""
    offset = LAYOUT_OFFSETS[layout]
    vel = velocity_at(layout, u, v, w)
    st = _stencil(q, offset, _advect_positions(q.shape, layout, vel, dt))
    fwd = _sample(q, st)
    if order == 0:
        return fwd
    bwd = _sample(fwd, _stencil(fwd, offset, _advect_positions(q.shape, layout, vel, -dt)))
    corr = fwd + 0.5 * (q - bwd)
    lo, hi = _extrema(q, st)
    return torch.minimum(torch.maximum(corr, lo), hi)


# ---------------------------------------------------------------------------------- pressure

def _shift(t: torch.Tensor, d: int, step: int) -> torch.Tensor:
    """t moved by `step` (+1: value of the previous cell along d), zero filled."""
    out = torch.zeros_like(t)
    n = t.shape[d]
    if step > 0:
        out.narrow(d, 1, n - 1).copy_(t.narrow(d, 0, n - 1))
    else:
        out.narrow(d, 0, n - 1).copy_(t.narrow(d, 1, n - 1))
    return out


def laplace_apply(diag, ax, ay, az, p) -> torch.Tensor:
    """out = A p, neighbour pairs summed first as in the native kernel."""
    pairs = []
    for d, a in enumerate((ax, ay, az)):
        minus = _shift(a * p, d, +1)  # a[c - s] p[c - s]
        plus = a * _shift(p, d, -1)  # a[c] p[c + s]
        pairs.append(minus + plus)
    return diag * p + ((pairs[0] + pairs[1]) + pairs[2])


def jacobi_smooth(diag, ax, ay, az, r, x, omega: float) -> torch.Tensor:
    """Reference of `sim_jacobi_smooth`: x + omega (r - A x) / diag on the fluid cells."""
    fluid = diag > 0
    step = (r - laplace_apply(diag, ax, ay, az, x)) / torch.where(fluid, diag, 1.0)
    return torch.where(fluid, x + omega * step, torch.zeros_like(x))


@functools.lru_cache(maxsize=8)
def _levels(shape: tuple[int, int, int], blocks: int):
    """Cells grouped by wavefront: within a block a cell depends only on its -x/-y/-z
    neighbours, which all lie on the previous level (local x + y + z)."""
    x, y, z = shape
    starts = torch.tensor([x * b // blocks for b in range(blocks)])
    ix = torch.arange(x)
    start_of = starts[torch.searchsorted(starts, ix, right=True) - 1]
    local = ix - start_of
    level = (local[:, None, None] + torch.arange(y)[None, :, None]
             + torch.arange(z)[None, None, :]).reshape(-1)
    order = torch.argsort(level, stable=True)
    counts = torch.bincount(level).tolist()
    groups = list(torch.split(order, counts))
    first_x = (ix == start_of)[:, None, None].expand(shape).reshape(-1)
    return groups, first_x


@functools.lru_cache(maxsize=8)
def _links(shape: tuple[int, int, int], blocks: int):
    """Per direction: (previous neighbour's flat index, exists in the same block) and
    (next neighbour's flat index, exists); missing neighbours point at the cell itself."""
    x, y, z = shape
    n = x * y * z
    idx = torch.arange(n)
    _, first_x = _levels(shape, blocks)
    jj = (idx // z) % y
    kk = idx % z
    strides = (y * z, z, 1)
    back, nxt = [], []
    for s, ok in zip(strides, (~first_x, jj > 0, kk > 0)):
        prev = torch.where(ok, idx - s, idx)
        succ, has = idx.clone(), torch.zeros(n, dtype=torch.bool)
        succ[prev[ok]] = idx[ok]
        has[prev[ok]] = True
        back.append((prev, ok))
        nxt.append((succ, has))
    return back, nxt


def mic_build(diag, ax, ay, az, blocks: int, tau: float = 0.97, sigma: float = 0.25):
    shape = tuple(diag.shape)
    groups, _ = _levels(shape, blocks)
    back, _ = _links(shape, blocks)
    a = [t.reshape(-1).double() for t in (ax, ay, az)]
    dg = diag.reshape(-1).double()
    prec = torch.zeros_like(dg)
    for cells in groups:
        e = dg[cells].clone()
        for d in range(3):
            nb, ok = back[d][0][cells], back[d][1][cells]
            coef = torch.where(ok, a[d][nb], torch.zeros_like(e))
            others = sum(a[o][nb] for o in range(3) if o != d)
            pr = prec[nb]
            e = e - (coef * coef * pr * pr + tau * coef * others * pr * pr)
        e = torch.where(e < sigma * dg[cells], dg[cells], e)
        p = torch.where(dg[cells] > 0, 1.0 / torch.sqrt(e.clamp_min(1e-30)), torch.zeros_like(e))
        prec[cells] = p.float().double()
    return prec.float().reshape(shape)


def mic_apply(diag, ax, ay, az, prec, blocks: int, r) -> torch.Tensor:
    shape = tuple(diag.shape)
    groups, _ = _levels(shape, blocks)
    back, nxt = _links(shape, blocks)
    a = [t.reshape(-1) for t in (ax, ay, az)]
    pr = prec.reshape(-1)
    rr = r.reshape(-1)
    z = torch.zeros_like(rr)
    for cells in groups:  # forward: L q = r
        t = rr[cells]
        for d in range(3):
            nb, ok = back[d][0][cells], back[d][1][cells]
            t = t - torch.where(ok, a[d][nb] * pr[nb] * z[nb], torch.zeros_like(t))
        z[cells] = t * pr[cells]
    # backward: L^T z = q, in reverse level order
    for cells in reversed(groups):
        t = z[cells]
        for d in range(3):
            sc, has = nxt[d][0][cells], nxt[d][1][cells]
            t = t - torch.where(has, a[d][cells] * pr[cells] * z[sc], torch.zeros_like(t))
        z[cells] = t * pr[cells]
    return z.reshape(shape)


def pcg(diag, ax, ay, az, prec, precond: str, blocks: int, b, x, abs_tol: float,
        max_iter: int, apply_a=None, apply_m=None) -> tuple[int, float]:
    """Reference of `sim_pcg` (Bridson Fig. 5.2); x is updated in place. `apply_a` and
    `apply_m` replace the matrix apply and the preconditioner (the CUDA path passes its
    kernels, the multigrid preconditioner its V-cycle); else `precond` ("none", "jacobi" or
    "mic") picks the built-in one."""
    fluid = diag > 0
    if apply_a is None:
        def apply_a(p):
            return laplace_apply(diag, ax, ay, az, p)

    def builtin_m(r):
        if precond == "mic":
            return mic_apply(diag, ax, ay, az, prec, blocks, r)
        if precond == "jacobi":
            return torch.where(fluid, r / diag.clamp_min(1e-30), torch.zeros_like(r))
        return r.clone()

    apply_m = apply_m or builtin_m

    def dot(p, q):
        return float((p.double() * q.double()).sum())

    r = torch.where(fluid, b - apply_a(x), torch.zeros_like(b))
    res = float(r.abs().max()) if r.numel() else 0.0
    it = 0
    if res <= abs_tol:
        return it, res
    z = apply_m(r)
    d = z.clone()
    rho = dot(r, z)
    while it < max_iter:
        it += 1
        z = apply_a(d)
        dz = dot(d, z)
        if dz <= 0.0:
            break
        alpha = float(torch.tensor(rho / dz, dtype=torch.float32))
        x += alpha * d
        r -= alpha * z
        res = float(r.abs().max())
        if res <= abs_tol:
            break
        z = apply_m(r)
        rho_new = dot(r, z)
        beta = float(torch.tensor(rho_new / rho, dtype=torch.float32))
        rho = rho_new
        d = z + beta * d
    return it, res


# ---------------------------------------------------------------------------------- forces

def _replicate(f: torch.Tensor, d: int) -> torch.Tensor:
    pad = [0, 0] * 3
    pad[2 * (2 - d)] = pad[2 * (2 - d) + 1] = 1  # F.pad lists the last axis first
    return F.pad(f[None, None], pad, mode="replicate")[0, 0]


def to_faces(f: torch.Tensor, d: int) -> torch.Tensor:
    """Cell values (X, Y, Z) -> faces along axis d: mean of the two cells (clamped at sides)."""
    e = _replicate(f, d)
    n = f.shape[d] + 1
    return 0.5 * (e.narrow(d, 0, n) + e.narrow(d, 1, n))


def vorticity_confinement(u, v, w, solid, strength: float, dt: float) -> None:
    """Reference of `sim_vorticity_confinement`: faces += dt * mean of f = strength (N x w)."""
    vel = torch.stack([0.5 * _pair(f, d) for d, f in enumerate((u, v, w))])
    omega = curl(vel[None])[0]
    mag = omega.norm(dim=0)
    grad = torch.stack([central_difference(mag[None], d)[0] for d in range(3)])
    n = grad / (grad.norm(dim=0) + 1e-12)
    force = (torch.linalg.cross(n, omega, dim=0) * strength).masked_fill_(solid[None], 0.0)
    for d, face in enumerate((u, v, w)):
        face.add_(to_faces(force[d], d), alpha=dt)
