// The features compiled into billow._kernels: each <feature>.cpp defines its register function,
// registry.cpp calls them all. (The CUDA module, cuda_module.cu, has its own list.)
#pragma once
#include <pybind11/pybind11.h>

namespace billow {
void register_sim_advect(pybind11::module_& m);
void register_sim_forces(pybind11::module_& m);
void register_sim_pressure(pybind11::module_& m);
void register_uv_lookup(pybind11::module_& m);

// Calls every register function above (registry.cpp).
void register_all(pybind11::module_& m);
}  // namespace billow
