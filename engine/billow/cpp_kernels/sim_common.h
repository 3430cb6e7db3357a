// Shared helpers of the smoke-solver kernels (sim_advect, sim_pressure): checked access to
// float32 C-contiguous numpy blocks indexed [x][y][z] (z fastest).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

namespace billow {
namespace simk {

namespace py = pybind11;

struct Shape3 {
  int nx, ny, nz;
  long long size() const { return (long long)nx * ny * nz; }
};

inline Shape3 shape3(const py::array& a, const char* name) {
  if (a.ndim() != 3)
    throw std::invalid_argument(std::string(name) + ": expected a 3-D array [x, y, z]");
  return {(int)a.shape(0), (int)a.shape(1), (int)a.shape(2)};
}

// A float32 C-contiguous block; outputs must not be copies, so nothing is converted here.
inline float* fptr(py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<float>>(a) || !(a.flags() & py::array::c_style))
    throw std::invalid_argument(std::string(name) + ": expected a C-contiguous float32 array");
  return static_cast<float*>(a.mutable_data());
}

inline void same_shape(const py::array& a, Shape3 s, const char* name) {
  Shape3 t = shape3(a, name);
  if (t.nx != s.nx || t.ny != s.ny || t.nz != s.nz)
    throw std::invalid_argument(std::string(name) + ": shape does not match the grid");
}

}  // namespace simk
}  // namespace billow
