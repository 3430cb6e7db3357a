// Vorticity confinement (Fedkiw, Stam & Jensen 2001) on a MAC grid, CPU/OpenMP. The torch
// reference is billow/sim/forces.py (add_vorticity_confinement, backend="torch").
//
// Cell-centred velocity uc = mean of each cell's two faces; w = curl uc and grad |w| by central
// differences (one-sided halves at the sides: indices clamped); f = strength * (N x w) with
// N = grad|w| / (|grad|w|| + 1e-12), zero in solid cells; each face gets dt * the mean of its
// two cells' f (clamped at the sides). Faces fixed by walls or obstacles are reset by the caller.
//
// There is no CUDA version: on a GPU the torch reference runs (billow/sim/kernels.py); stencils
// of this size are memory-bound and torch's fused kernels are within a small factor of a
// hand-written one.
#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "sim_common.h"

namespace py = pybind11;

namespace billow {
namespace {

void vorticity(py::array u_, py::array v_, py::array w_, py::array solid_, float strength,
               float dt) {
  simk::Shape3 su = simk::shape3(u_, "u");
  const int nx = su.nx - 1, ny = su.ny, nz = su.nz;
  simk::same_shape(v_, {nx, ny + 1, nz}, "v");
  simk::same_shape(w_, {nx, ny, nz + 1}, "w");
  simk::same_shape(solid_, {nx, ny, nz}, "solid");
  if (solid_.itemsize() != 1 || !(solid_.flags() & py::array::c_style))
    throw std::invalid_argument("solid: expected a C-contiguous bool array");
  float *u = simk::fptr(u_, "u"), *v = simk::fptr(v_, "v"), *w = simk::fptr(w_, "w");
  const unsigned char* solid = static_cast<const unsigned char*>(solid_.data());
  py::gil_scoped_release nogil;

  const long long n = (long long)nx * ny * nz;
  auto C = [&](int i, int j, int k) { return ((long long)i * ny + j) * nz + k; };
  auto U = [&](int i, int j, int k) { return u[((long long)i * ny + j) * nz + k]; };
  auto V = [&](int i, int j, int k) { return v[((long long)i * (ny + 1) + j) * nz + k]; };
  auto W = [&](int i, int j, int k) { return w[((long long)i * ny + j) * (nz + 1) + k]; };
  // uninitialised scratch (every entry is written before it is read): no memset per call
  std::unique_ptr<float[]> uc_(new float[3 * n]), om_(new float[3 * n]), mag_(new float[n]),
      f_(new float[3 * n]);
  float *uc = uc_.get(), *om = om_.get(), *mag = mag_.get(), *f = f_.get();
#pragma omp parallel for schedule(static)
  for (int i = 0; i < nx; ++i)
    for (int j = 0; j < ny; ++j)
      for (int k = 0; k < nz; ++k) {
        long long c = C(i, j, k);
        uc[c] = 0.5f * (U(i, j, k) + U(i + 1, j, k));
        uc[n + c] = 0.5f * (V(i, j, k) + V(i, j + 1, k));
        uc[2 * n + c] = 0.5f * (W(i, j, k) + W(i, j, k + 1));
      }
  // central difference of component `comp` of `a` along axis d at (i, j, k)
  auto dd = [&](const float* a, long long comp, int d, int i, int j, int k) {
    int lo[3] = {i, j, k}, hi[3] = {i, j, k}, lim[3] = {nx, ny, nz};
    lo[d] = std::max(lo[d] - 1, 0);
    hi[d] = std::min(hi[d] + 1, lim[d] - 1);
    return 0.5f * (a[comp + C(hi[0], hi[1], hi[2])] - a[comp + C(lo[0], lo[1], lo[2])]);
  };
#pragma omp parallel for schedule(static)
  for (int i = 0; i < nx; ++i)
    for (int j = 0; j < ny; ++j)
      for (int k = 0; k < nz; ++k) {
        long long c = C(i, j, k);
        float ox = dd(uc, 2 * n, 1, i, j, k) - dd(uc, n, 2, i, j, k);
        float oy = dd(uc, 0, 2, i, j, k) - dd(uc, 2 * n, 0, i, j, k);
        float oz = dd(uc, n, 0, i, j, k) - dd(uc, 0, 1, i, j, k);
        om[c] = ox;
        om[n + c] = oy;
        om[2 * n + c] = oz;
        mag[c] = std::sqrt(ox * ox + oy * oy + oz * oz);
      }
#pragma omp parallel for schedule(static)
  for (int i = 0; i < nx; ++i)
    for (int j = 0; j < ny; ++j)
      for (int k = 0; k < nz; ++k) {
        long long c = C(i, j, k);
        if (solid[c]) {
          f[c] = f[n + c] = f[2 * n + c] = 0.f;
          continue;
        }
        float gx = dd(mag, 0, 0, i, j, k), gy = dd(mag, 0, 1, i, j, k),
              gz = dd(mag, 0, 2, i, j, k);
        float len = std::sqrt(gx * gx + gy * gy + gz * gz) + 1e-12f;
        gx /= len;
        gy /= len;
        gz /= len;
        float ox = om[c], oy = om[n + c], oz = om[2 * n + c];
        f[c] = strength * (gy * oz - gz * oy);
        f[n + c] = strength * (gz * ox - gx * oz);
        f[2 * n + c] = strength * (gx * oy - gy * ox);
      }
  const float h = 0.5f * dt;
#pragma omp parallel for schedule(static)
  for (int i = 0; i <= nx; ++i)
    for (int j = 0; j <= ny; ++j)
      for (int k = 0; k <= nz; ++k) {
        int a = std::max(i - 1, 0), b = std::min(i, nx - 1);
        if (j < ny && k < nz) u[((long long)i * ny + j) * nz + k] += h * (f[C(a, j, k)] + f[C(b, j, k)]);
        if (i < nx && k < nz) {
          int ja = std::max(j - 1, 0), jb = std::min(j, ny - 1);
          v[((long long)i * (ny + 1) + j) * nz + k] += h * (f[n + C(i, ja, k)] + f[n + C(i, jb, k)]);
        }
        if (i < nx && j < ny) {
          int ka = std::max(k - 1, 0), kb = std::min(k, nz - 1);
          w[((long long)i * ny + j) * (nz + 1) + k] +=
              h * (f[2 * n + C(i, j, ka)] + f[2 * n + C(i, j, kb)]);
        }
      }
}

}  // namespace

void register_sim_forces(py::module_& m) {
  m.def("sim_vorticity_confinement", &vorticity, py::arg("u"), py::arg("v"), py::arg("w"),
        py::arg("solid"), py::arg("strength"), py::arg("dt"),
        "Add dt * strength * (N x curl u) to the MAC faces u, v, w in place (solid: bool "
        "cells with no force).");
}

}  // namespace billow
