// The one pybind11 module `billow._kernels`. Each feature (sim_advect.cpp, sim_pressure.cpp, ...)
// registers its functions through a `register_<feature>(py::module_&)` declared in kernels.h.
// CUDA kernels live in a separately compiled module (cuda_module.cu, billow/_native.py).
#include <pybind11/pybind11.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"

namespace py = pybind11;

PYBIND11_MODULE(_kernels, m) {
  m.doc() = "billow native kernels (C++17, OpenMP). CUDA kernels are built separately.";
  m.def("openmp_threads", []() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
  });
  billow::register_all(m);
}
