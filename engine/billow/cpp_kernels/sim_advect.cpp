// Advection on a staggered (MAC) grid, the CPU/OpenMP version: loops over the per-sample
// arithmetic of sim_advect.h (shared with the CUDA version, sim_advect.cu).
#include <memory>
#include <stdexcept>

#include "kernels.h"
#include "sim_advect.h"
#include "sim_common.h"

namespace py = pybind11;

namespace billow {
namespace {

using advect::Field;
using advect::Mac;
using advect::OFFSETS;
using simk::Shape3;

template <int layout>
void forward(const Field& q, const Mac& m, float dt, float* out) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < q.nx; ++i)
    for (int j = 0; j < q.ny; ++j)
      for (int k = 0; k < q.nz; ++k)
        out[((long long)i * q.ny + j) * q.nz + k] = advect::forward<layout>(q, m, dt, i, j, k);
}

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
      for (int k = 0; k < q.nz; ++k)
        out[((long long)i * q.ny + j) * q.nz + k] =
            advect::maccormack<layout>(q, f, m, dt, i, j, k);
}

Field field(py::array& a, const char* name, float ox, float oy, float oz) {
  Shape3 s = simk::shape3(a, name);
  return {simk::fptr(a, name), s.nx, s.ny, s.nz, ox, oy, oz};
}

void advect_cpu(py::array q, int layout, py::array u, py::array v, py::array w, float dt,
                int order, py::array out) {
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
  m.def("sim_advect", &advect_cpu, py::arg("q"), py::arg("layout"), py::arg("u"), py::arg("v"),
        py::arg("w"), py::arg("dt"), py::arg("order"), py::arg("out"),
        "Advect q (layout 0 cell-centred, 1/2/3 on the u/v/w faces) through the MAC velocity "
        "(u, v, w) for time dt; order 0 semi-Lagrangian, 1 MacCormack with clamping.");
}

}  // namespace billow
