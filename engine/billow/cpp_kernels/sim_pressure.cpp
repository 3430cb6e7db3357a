// Pressure solve kernels, CPU/OpenMP: the matrix apply and the Jacobi sweep loop over the row
// arithmetic of sim_pressure.h (shared with the CUDA version, sim_pressure.cu).
//
// MIC(0) (Bridson, "Fluid Simulation for Computer Graphics", Sec. 5.4): A ~ L L^T with L
// lower triangular in lexicographic order, the modified variant (tau = 0.97) and a safety floor
// (sigma = 0.25). The triangular solves are sequential; `blocks` > 1 splits the x range into
// slabs whose mutual coupling the preconditioner ignores (block-Jacobi MIC), so the slabs
// solve in parallel. Results depend on `blocks`, never on the thread count: every reduction
// sums per x-slice partials in a fixed order.
//
// The pure-torch references are in billow/sim/reference.py.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.h"
#include "sim_common.h"
#include "sim_pressure.h"

namespace py = pybind11;

namespace billow {
namespace {

using pressure::Preconditioner;
using pressure::Sys;
using simk::Shape3;

// out = A p. With `part`, also the per-x-slice partial sums of p . out (fused, for CG).
void apply_a(const Sys& s, const float* p, float* out, double* part = nullptr) {
  const long long sx = s.sx(), sy = s.nz;
#pragma omp parallel for schedule(static)
  for (int i = 0; i < s.nx; ++i) {
    double acc = 0.0;
    for (int j = 0; j < s.ny; ++j)
      for (int k = 0; k < s.nz; ++k) {
        long long c = i * sx + j * sy + k;
        out[c] = s.row(p, c, i, j, k);
        acc += (double)p[c] * out[c];
      }
    if (part) part[i] = acc;
  }
}

inline double sum_parts(const double* part, int n) {
  double t = 0.0;
  for (int i = 0; i < n; ++i) t += part[i];
  return t;
}

inline int block_start(int nx, int blocks, int b) { return (int)((long long)nx * b / blocks); }

void mic_build(const Sys& s, int blocks, float tau, float sigma, float* prec) {
  const long long sx = s.sx(), sy = s.nz;
#pragma omp parallel for schedule(static, 1)
  for (int b = 0; b < blocks; ++b) {
    int i0 = block_start(s.nx, blocks, b), i1 = block_start(s.nx, blocks, b + 1);
    for (int i = i0; i < i1; ++i)
      for (int j = 0; j < s.ny; ++j)
        for (int k = 0; k < s.nz; ++k) {
          long long c = i * sx + j * sy + k;
          if (s.diag[c] <= 0.f) {
            prec[c] = 0.f;
            continue;
          }
          double e = s.diag[c];
          if (i > i0) {
            double a = s.ax[c - sx], pr = prec[c - sx];
            e -= a * a * pr * pr + tau * a * (s.ay[c - sx] + s.az[c - sx]) * pr * pr;
          }
          if (j > 0) {
            double a = s.ay[c - sy], pr = prec[c - sy];
            e -= a * a * pr * pr + tau * a * (s.ax[c - sy] + s.az[c - sy]) * pr * pr;
          }
          if (k > 0) {
            double a = s.az[c - 1], pr = prec[c - 1];
            e -= a * a * pr * pr + tau * a * (s.ax[c - 1] + s.ay[c - 1]) * pr * pr;
          }
          if (e < sigma * s.diag[c]) e = s.diag[c];
          prec[c] = (float)(1.0 / std::sqrt(e));
        }
  }
}

// z = (L L^T)^-1 r: forward substitution L q = r, then backward L^T z = q (in place in z).
// With `part`, also the per-x-slice partial sums of r . z (fused, for CG).
void mic_apply(const Sys& s, const float* prec, int blocks, const float* r, float* z,
               double* part = nullptr) {
  const long long sx = s.sx(), sy = s.nz;
#pragma omp parallel for schedule(static, 1)
  for (int b = 0; b < blocks; ++b) {
    int i0 = block_start(s.nx, blocks, b), i1 = block_start(s.nx, blocks, b + 1);
    for (int i = i0; i < i1; ++i)
      for (int j = 0; j < s.ny; ++j)
        for (int k = 0; k < s.nz; ++k) {
          long long c = i * sx + j * sy + k;
          if (prec[c] == 0.f) {
            z[c] = 0.f;
            continue;
          }
          float t = r[c];
          if (i > i0) t -= s.ax[c - sx] * prec[c - sx] * z[c - sx];
          if (j > 0) t -= s.ay[c - sy] * prec[c - sy] * z[c - sy];
          if (k > 0) t -= s.az[c - 1] * prec[c - 1] * z[c - 1];
          z[c] = t * prec[c];
        }
    for (int i = i1 - 1; i >= i0; --i) {
      double acc = 0.0;
      for (int j = s.ny - 1; j >= 0; --j)
        for (int k = s.nz - 1; k >= 0; --k) {
          long long c = i * sx + j * sy + k;
          if (prec[c] == 0.f) continue;
          float t = z[c];
          if (i < i1 - 1) t -= s.ax[c] * prec[c] * z[c + sx];
          if (j < s.ny - 1) t -= s.ay[c] * prec[c] * z[c + sy];
          if (k < s.nz - 1) t -= s.az[c] * prec[c] * z[c + 1];
          z[c] = t * prec[c];
          acc += (double)r[c] * z[c];
        }
      if (part) part[i] = acc;
    }
  }
}

// One damped Jacobi sweep of A x = r (the multigrid smoother): out = x + omega (r - A x) / diag.
void jacobi_smooth(const Sys& s, const float* r, const float* x, float omega, float* out) {
  const long long sx = s.sx(), sy = s.nz;
#pragma omp parallel for schedule(static)
  for (int i = 0; i < s.nx; ++i)
    for (int j = 0; j < s.ny; ++j)
      for (int k = 0; k < s.nz; ++k) {
        long long c = i * sx + j * sy + k;
        out[c] = s.jacobi_smooth(r, x, omega, c, i, j, k);
      }
}

void jacobi_apply(const Sys& s, const float* r, float* z) {
  const long long n = s.n();
#pragma omp parallel for schedule(static)
  for (long long c = 0; c < n; ++c) z[c] = s.jacobi(r, c);
}

// Deterministic reductions: one double partial per x-slice, summed in order.
double dot(const Sys& s, const float* a, const float* b, std::vector<double>& part) {
  const long long sx = s.sx();
#pragma omp parallel for schedule(static)
  for (int i = 0; i < s.nx; ++i) {
    double acc = 0.0;
    for (long long c = i * sx; c < (i + 1) * sx; ++c) acc += (double)a[c] * b[c];
    part[i] = acc;
  }
  double t = 0.0;
  for (int i = 0; i < s.nx; ++i) t += part[i];
  return t;
}

float max_abs(const Sys& s, const float* a, std::vector<double>& part) {
  const long long sx = s.sx();
#pragma omp parallel for schedule(static)
  for (int i = 0; i < s.nx; ++i) {
    float m = 0.f;
    for (long long c = i * sx; c < (i + 1) * sx; ++c) m = std::max(m, std::fabs(a[c]));
    part[i] = m;
  }
  double m = 0.0;
  for (int i = 0; i < s.nx; ++i) m = std::max(m, part[i]);
  return (float)m;
}

Preconditioner preconditioner(const std::string& name) {
  if (name == "none") return Preconditioner::none;
  if (name == "jacobi") return Preconditioner::jacobi;
  if (name == "mic") return Preconditioner::mic;
  throw std::invalid_argument("precond '" + name +
                              "': the native CG loop takes none, jacobi or mic");
}

// Preconditioned CG (Bridson Fig. 5.2) on A x = b, warm-started from x; stops when
// max |r| <= abs_tol. Returns (iterations, max |r|).
py::tuple pcg(const Sys& s, const float* prec, Preconditioner precond, int blocks,
              const float* b, float* x, float abs_tol, int max_iter) {
  const long long n = s.n();
  std::vector<float> r(n), z(n), d(n);
  std::vector<double> part(s.nx);
  auto precondition = [&](const float* in, float* out) {
    if (precond == Preconditioner::mic)
      mic_apply(s, prec, blocks, in, out);
    else if (precond == Preconditioner::jacobi)
      jacobi_apply(s, in, out);
    else
      std::copy(in, in + n, out);
  };
  // r . M r, fused into the MIC backward sweep
  auto precondition_dot = [&](const float* in, float* out) {
    if (precond == Preconditioner::mic) {
      mic_apply(s, prec, blocks, in, out, part.data());
      return sum_parts(part.data(), s.nx);
    }
    precondition(in, out);
    return dot(s, in, out, part);
  };
  int it = 0;
  float res;
  {
    py::gil_scoped_release nogil;
    apply_a(s, x, z.data());
#pragma omp parallel for schedule(static)
    for (long long c = 0; c < n; ++c) r[c] = s.diag[c] > 0.f ? b[c] - z[c] : 0.f;
    res = max_abs(s, r.data(), part);
    if (res > abs_tol) {
      double rho = precondition_dot(r.data(), z.data());
      std::copy(z.begin(), z.end(), d.begin());
      const long long sx = s.sx();
      while (it < max_iter) {
        ++it;
        apply_a(s, d.data(), z.data(), part.data());  // z = A d, with d . A d
        double dz = sum_parts(part.data(), s.nx);
        if (dz <= 0.0) break;  // converged to round-off (or a singular, inconsistent system)
        float alpha = (float)(rho / dz);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < s.nx; ++i) {  // x += alpha d, r -= alpha z, with max |r|
          float m = 0.f;
          for (long long c = i * sx; c < (i + 1) * sx; ++c) {
            x[c] += alpha * d[c];
            r[c] -= alpha * z[c];
            m = std::max(m, std::fabs(r[c]));
          }
          part[i] = m;
        }
        res = 0.f;
        for (int i = 0; i < s.nx; ++i) res = std::max(res, (float)part[i]);
        if (res <= abs_tol) break;
        double rho_new = precondition_dot(r.data(), z.data());
        float beta = (float)(rho_new / rho);
        rho = rho_new;
#pragma omp parallel for schedule(static)
        for (long long c = 0; c < n; ++c) d[c] = z[c] + beta * d[c];
      }
    }
  }
  return py::make_tuple(it, res);
}

Sys system(py::array& diag, py::array& ax, py::array& ay, py::array& az) {
  Shape3 g = simk::shape3(diag, "diag");
  simk::same_shape(ax, g, "ax");
  simk::same_shape(ay, g, "ay");
  simk::same_shape(az, g, "az");
  return {simk::fptr(diag, "diag"), simk::fptr(ax, "ax"), simk::fptr(ay, "ay"),
          simk::fptr(az, "az"), g.nx, g.ny, g.nz};
}

float* grid_ptr(py::array& a, const Sys& s, const char* name) {
  simk::same_shape(a, {s.nx, s.ny, s.nz}, name);
  return simk::fptr(a, name);
}

int check_blocks(const Sys& s, int blocks) {
  if (blocks < 1 || blocks > s.nx) throw std::invalid_argument("blocks must be in [1, X]");
  return blocks;
}

}  // namespace

void register_sim_pressure(py::module_& m) {
  m.def(
      "sim_laplace_apply",
      [](py::array diag, py::array ax, py::array ay, py::array az, py::array p, py::array out) {
        Sys s = system(diag, ax, ay, az);
        const float* pp = grid_ptr(p, s, "p");
        float* o = grid_ptr(out, s, "out");
        py::gil_scoped_release nogil;
        apply_a(s, pp, o);
      },
      py::arg("diag"), py::arg("ax"), py::arg("ay"), py::arg("az"), py::arg("p"),
      py::arg("out"), "out = A p for the 7-point pressure matrix (diag, +x/+y/+z couplings).");
  m.def(
      "sim_jacobi_smooth",
      [](py::array diag, py::array ax, py::array ay, py::array az, py::array r, py::array x,
         float omega, py::array out) {
        Sys s = system(diag, ax, ay, az);
        const float* rr = grid_ptr(r, s, "r");
        const float* xx = grid_ptr(x, s, "x");
        float* o = grid_ptr(out, s, "out");
        if (o == xx) throw std::invalid_argument("jacobi_smooth: out must not be x");
        py::gil_scoped_release nogil;
        jacobi_smooth(s, rr, xx, omega, o);
      },
      py::arg("diag"), py::arg("ax"), py::arg("ay"), py::arg("az"), py::arg("r"), py::arg("x"),
      py::arg("omega"), py::arg("out"),
      "One damped Jacobi sweep: out = x + omega (r - A x) / diag (0 on non-fluid cells).");
  m.def(
      "sim_mic_build",
      [](py::array diag, py::array ax, py::array ay, py::array az, int blocks, float tau,
         float sigma, py::array prec) {
        Sys s = system(diag, ax, ay, az);
        float* pr = grid_ptr(prec, s, "prec");
        check_blocks(s, blocks);
        py::gil_scoped_release nogil;
        mic_build(s, blocks, tau, sigma, pr);
      },
      py::arg("diag"), py::arg("ax"), py::arg("ay"), py::arg("az"), py::arg("blocks"),
      py::arg("tau"), py::arg("sigma"), py::arg("prec"),
      "MIC(0) factor: prec = 1 / diag(L), x range split into `blocks` independent slabs.");
  m.def(
      "sim_mic_apply",
      [](py::array diag, py::array ax, py::array ay, py::array az, py::array prec, int blocks,
         py::array r, py::array z) {
        Sys s = system(diag, ax, ay, az);
        const float* pr = grid_ptr(prec, s, "prec");
        const float* rr = grid_ptr(r, s, "r");
        float* zz = grid_ptr(z, s, "z");
        check_blocks(s, blocks);
        py::gil_scoped_release nogil;
        mic_apply(s, pr, blocks, rr, zz);
      },
      py::arg("diag"), py::arg("ax"), py::arg("ay"), py::arg("az"), py::arg("prec"),
      py::arg("blocks"), py::arg("r"), py::arg("z"), "z = (L L^T)^-1 r with the MIC(0) factor.");
  m.def(
      "sim_pcg",
      [](py::array diag, py::array ax, py::array ay, py::array az, py::array prec,
         const std::string& precond_name, int blocks, py::array b, py::array x, float abs_tol,
         int max_iter) {
        Sys s = system(diag, ax, ay, az);
        Preconditioner precond = preconditioner(precond_name);
        const float* pr = precond == Preconditioner::mic ? grid_ptr(prec, s, "prec") : nullptr;
        check_blocks(s, blocks);
        return pcg(s, pr, precond, blocks, grid_ptr(b, s, "b"), grid_ptr(x, s, "x"), abs_tol,
                   max_iter);
      },
      py::arg("diag"), py::arg("ax"), py::arg("ay"), py::arg("az"), py::arg("prec"),
      py::arg("precond"), py::arg("blocks"), py::arg("b"), py::arg("x"), py::arg("abs_tol"),
      py::arg("max_iter"),
      "Preconditioned CG on A x = b, warm-started from x (updated in place); precond 'none', "
      "'jacobi' or 'mic' (MIC(0), factor in prec). Returns (iterations, max |residual|).");
}

}  // namespace billow
