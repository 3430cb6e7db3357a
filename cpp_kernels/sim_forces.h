// Body forces of the smoke solver that are worth a native loop: vorticity confinement.
#pragma once
#include <pybind11/pybind11.h>

namespace billow {
void register_sim_forces(pybind11::module_& m);
}  // namespace billow
