// Pressure projection: the 7-point Poisson matrix, its row applied at one cell, and the Jacobi
// pieces; shared by sim_pressure.cpp (OpenMP; also MIC(0) and the fused CG loop) and
// sim_pressure.cu (CUDA: the matrix apply). The pure-torch references are in
// billow/sim/reference.py.
//
// The matrix is Bridson's 7-point form of -Laplace on the fluid cells: diag[c] counts the
// non-solid neighbours (open-boundary ghosts included), and ax/ay/az[c] hold the (negative)
// coupling of cell c to its +x/+y/+z neighbour, zero unless both cells are fluid. Rows of
// non-fluid cells are zero (diag 0) and their values stay 0.
#pragma once

#include "host_device.h"

namespace billow {
namespace pressure {

struct Sys {
  const float *diag, *ax, *ay, *az;
  int nx, ny, nz;
  BILLOW_HD long long sx() const { return (long long)ny * nz; }
  BILLOW_HD long long n() const { return (long long)nx * ny * nz; }

  // (A p)[c] at cell c = (i, j, k). The neighbour pairs are summed first
  // ((x- + x+) + (y- + y+) + (z- + z+)) so that the result is exactly mirror-symmetric for
  // mirrored inputs.
  BILLOW_HD float row(const float* p, long long c, int i, int j, int k) const {
    const long long sx_ = sx(), sy = nz;
    float xm = i > 0 ? ax[c - sx_] * p[c - sx_] : 0.f;
    float xp = i < nx - 1 ? ax[c] * p[c + sx_] : 0.f;
    float ym = j > 0 ? ay[c - sy] * p[c - sy] : 0.f;
    float yp = j < ny - 1 ? ay[c] * p[c + sy] : 0.f;
    float zm = k > 0 ? az[c - 1] * p[c - 1] : 0.f;
    float zp = k < nz - 1 ? az[c] * p[c + 1] : 0.f;
    return diag[c] * p[c] + ((xm + xp) + (ym + yp) + (zm + zp));
  }

  // One damped Jacobi sweep of A x = r at cell c: x + omega (r - A x) / diag, 0 off the fluid.
  BILLOW_HD float jacobi_smooth(const float* r, const float* x, float omega, long long c, int i,
                                int j, int k) const {
    if (diag[c] <= 0.f) return 0.f;
    return x[c] + omega * (r[c] - row(x, c, i, j, k)) / diag[c];
  }

  // The Jacobi preconditioner at cell c: r / diag, 0 off the fluid.
  BILLOW_HD float jacobi(const float* r, long long c) const {
    return diag[c] > 0.f ? r[c] / diag[c] : 0.f;
  }
};

// CG preconditioners of the native loop (the multigrid one runs in torch around the native
// stencil and smoother). Chosen by name from Python: "none", "jacobi", "mic".
enum class Preconditioner { none, jacobi, mic };

}  // namespace pressure
}  // namespace billow
