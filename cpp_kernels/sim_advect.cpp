// Advection on a staggered (MAC) grid, the CPU/OpenMP version. The pure-torch reference with
// the same arithmetic is billow/sim/reference.py (advect); tests compare the two.
//
// Positions are in cell units: cell (i, j, k) has its centre at (i + .5, j + .5, k + .5); the
// u face (i, j, k) sits at (i, j + .5, k + .5), v at (i + .5, j, k + .5), w at (i + .5, j + .5, k).
// A quantity stored with offset o is sampled at position p through the continuous index p - o,
// clamped to the block (values continue at the border), with trilinear weights.
#include "sim_advect.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "sim_common.h"

namespace py = pybind11;

namespace billow {
namespace {

using simk::Shape3;

struct Field {
  const float* d;
  int nx, ny, nz;
  float ox, oy, oz;
  inline float at(int i, int j, int k) const { return d[((long long)i * ny + j) * nz + k]; }
};

struct Lerp {
  int i0, i1;
  float f;
};

inline Lerp axis(float g, int n) {
  if (n <= 1) return {0, 0, 0.f};
  g = std::min(std::max(g, 0.f), float(n - 1));
  int i0 = std::min(int(g), n - 2);  // g >= 0, so int() is floor
  return {i0, i0 + 1, g - float(i0)};
}

struct Stencil {
  Lerp a, b, c;
};

inline Stencil stencil(const Field& q, float x, float y, float z) {
  return {axis(x - q.ox, q.nx), axis(y - q.oy, q.ny), axis(z - q.oz, q.nz)};
}

inline float lerp(float a, float b, float f) { return a * (1.f - f) + b * f; }

inline float sample(const Field& q, const Stencil& s) {
  const Lerp &a = s.a, &b = s.b, &c = s.c;
  float c00 = lerp(q.at(a.i0, b.i0, c.i0), q.at(a.i0, b.i0, c.i1), c.f);
  float c01 = lerp(q.at(a.i0, b.i1, c.i0), q.at(a.i0, b.i1, c.i1), c.f);
  float c10 = lerp(q.at(a.i1, b.i0, c.i0), q.at(a.i1, b.i0, c.i1), c.f);
  float c11 = lerp(q.at(a.i1, b.i1, c.i0), q.at(a.i1, b.i1, c.i1), c.f);
  return lerp(lerp(c00, c01, b.f), lerp(c10, c11, b.f), a.f);
}

inline void extrema(const Field& q, const Stencil& s, float& lo, float& hi) {
  const Lerp &a = s.a, &b = s.b, &c = s.c;
  const int is[2] = {a.i0, a.i1}, js[2] = {b.i0, b.i1}, ks[2] = {c.i0, c.i1};
  lo = hi = q.at(a.i0, b.i0, c.i0);
  for (int p = 0; p < 2; ++p)
    for (int r = 0; r < 2; ++r)
      for (int t = 0; t < 2; ++t) {
        float v = q.at(is[p], js[r], ks[t]);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
}

struct Mac {
  Field u, v, w;
  int nx, ny, nz;  // cells
  inline float U(int i, int j, int k) const { return u.at(i, j, k); }
  inline float V(int i, int j, int k) const { return v.at(i, j, k); }
  inline float W(int i, int j, int k) const { return w.at(i, j, k); }
  // Velocity at the grid-aligned sample (i, j, k) of `layout` (0 cell centre, 1 u face, 2 v
  // face, 3 w face): the face's own value, or the mean of the 2 or 4 nearest faces of the
  // other components (what trilinear sampling gives there; clamped at the domain sides).
  template <int layout>
  inline void at(int i, int j, int k, float& vx, float& vy, float& vz) const {
    if constexpr (layout == 0) {
      vx = 0.5f * (U(i, j, k) + U(i + 1, j, k));
      vy = 0.5f * (V(i, j, k) + V(i, j + 1, k));
      vz = 0.5f * (W(i, j, k) + W(i, j, k + 1));
    } else if constexpr (layout == 1) {
      int a = std::max(i - 1, 0), b = std::min(i, nx - 1);
      vx = U(i, j, k);
      vy = 0.25f * ((V(a, j, k) + V(a, j + 1, k)) + (V(b, j, k) + V(b, j + 1, k)));
      vz = 0.25f * ((W(a, j, k) + W(a, j, k + 1)) + (W(b, j, k) + W(b, j, k + 1)));
    } else if constexpr (layout == 2) {
      int a = std::max(j - 1, 0), b = std::min(j, ny - 1);
      vx = 0.25f * ((U(i, a, k) + U(i + 1, a, k)) + (U(i, b, k) + U(i + 1, b, k)));
      vy = V(i, j, k);
      vz = 0.25f * ((W(i, a, k) + W(i, a, k + 1)) + (W(i, b, k) + W(i, b, k + 1)));
    } else {
      int a = std::max(k - 1, 0), b = std::min(k, nz - 1);
      vx = 0.25f * ((U(i, j, a) + U(i + 1, j, a)) + (U(i, j, b) + U(i + 1, j, b)));
      vy = 0.25f * ((V(i, j, a) + V(i, j + 1, a)) + (V(i, j, b) + V(i, j + 1, b)));
      vz = W(i, j, k);
    }
  }
};

const float OFFSETS[4][3] = {{.5f, .5f, .5f}, {0.f, .5f, .5f}, {.5f, 0.f, .5f}, {.5f, .5f, 0.f}};

// Semi-Lagrangian (Eq. 2.7): out[c] = q(x - dt vel(x)) at every sample x of q's layout.
template <int layout>
void forward(const Field& q, const Mac& m, float dt, float* out) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < q.nx; ++i)
    for (int j = 0; j < q.ny; ++j)
      for (int k = 0; k < q.nz; ++k) {
        float vx, vy, vz;
        m.template at<layout>(i, j, k, vx, vy, vz);
        out[((long long)i * q.ny + j) * q.nz + k] =
            sample(q, stencil(q, i + q.ox - dt * vx, j + q.oy - dt * vy, k + q.oz - dt * vz));
      }
}

// MacCormack (Eq. 2.8): forward step, backward step of its result, half the round-trip error
// added back, clamped to the values the forward step interpolated (no new extrema). The second
// pass recomputes the (cheap) velocity and forward stencil instead of storing them.
template <int layout>
void maccormack(const Field& q, const Mac& m, float dt, float* out) {
  const long long n = (long long)q.nx * q.ny * q.nz;
  std::unique_ptr<float[]> fwd(new float[n]);  // uninitialised: every entry is written
  forward<layout>(q, m, dt, fwd.get());
  Field f = q;
  f.d = fwd.get();
#pragma omp parallel for schedule(static)
  for (int i = 0; i < q.nx; ++i)
    for (int j = 0; j < q.ny; ++j)
      for (int k = 0; k < q.nz; ++k) {
        long long c = ((long long)i * q.ny + j) * q.nz + k;
        float vx, vy, vz, lo, hi;
        m.template at<layout>(i, j, k, vx, vy, vz);
        float x = i + q.ox, y = j + q.oy, z = k + q.oz;
        float bwd = sample(f, stencil(f, x + dt * vx, y + dt * vy, z + dt * vz));
        extrema(q, stencil(q, x - dt * vx, y - dt * vy, z - dt * vz), lo, hi);
        float corr = fwd[c] + 0.5f * (q.at(i, j, k) - bwd);
        out[c] = std::min(std::max(corr, lo), hi);
      }
}

Field field(py::array& a, const char* name, float ox, float oy, float oz) {
  Shape3 s = simk::shape3(a, name);
  return {simk::fptr(a, name), s.nx, s.ny, s.nz, ox, oy, oz};
}

void advect(py::array q, int layout, py::array u, py::array v, py::array w, float dt, int order,
            py::array out) {
  if (layout < 0 || layout > 3) throw std::invalid_argument("advect: layout must be 0..3");
  const float* o3 = OFFSETS[layout];
  Field fq = field(q, "q", o3[0], o3[1], o3[2]);
  Field fu = field(u, "u", 0.f, .5f, .5f), fv = field(v, "v", .5f, 0.f, .5f),
        fw = field(w, "w", .5f, .5f, 0.f);
  int nx = fv.nx, ny = fu.ny, nz = fu.nz;
  if (fu.nx != nx + 1 || fv.ny != ny + 1 || fw.nz != nz + 1 || fv.nz != nz || fw.nx != nx ||
      fw.ny != ny)
    throw std::invalid_argument("advect: u, v, w must be (X+1,Y,Z), (X,Y+1,Z), (X,Y,Z+1)");
  const int want[4][3] = {{nx, ny, nz}, {nx + 1, ny, nz}, {nx, ny + 1, nz}, {nx, ny, nz + 1}};
  if (fq.nx != want[layout][0] || fq.ny != want[layout][1] || fq.nz != want[layout][2])
    throw std::invalid_argument("advect: q's shape does not match its layout");
  Mac m{fu, fv, fw, nx, ny, nz};
  simk::same_shape(out, {fq.nx, fq.ny, fq.nz}, "out");
  float* o = simk::fptr(out, "out");
  if (o == fq.d) throw std::invalid_argument("advect: out must not be q");
  if (order != 0 && order != 1) throw std::invalid_argument("advect: order must be 0 or 1");
  py::gil_scoped_release nogil;
  using Kernel = void (*)(const Field&, const Mac&, float, float*);
  static const Kernel table[2][4] = {
      {forward<0>, forward<1>, forward<2>, forward<3>},
      {maccormack<0>, maccormack<1>, maccormack<2>, maccormack<3>}};
  table[order][layout](fq, m, dt, o);
}

}  // namespace

void register_sim_advect(py::module_& m) {
  m.def("sim_advect", &advect, py::arg("q"), py::arg("layout"), py::arg("u"), py::arg("v"),
        py::arg("w"), py::arg("dt"), py::arg("order"), py::arg("out"),
        "Advect q (layout 0 cell-centred, 1/2/3 on the u/v/w faces) through the MAC velocity "
        "(u, v, w) for time dt; order 0 semi-Lagrangian, 1 MacCormack with clamping.");
}

}  // namespace billow
