// Pressure projection kernels: the 7-point Poisson matrix apply, the MIC(0) incomplete
// Cholesky preconditioner (optionally block-parallel) and a fused preconditioned CG loop.
#pragma once
#include <pybind11/pybind11.h>

namespace billow {
void register_sim_pressure(pybind11::module_& m);
}  // namespace billow
