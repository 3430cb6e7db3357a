// Advection of cell-centred and face-centred (MAC) quantities through a staggered velocity
// field: semi-Lagrangian (dissertation Eq. 2.7) and MacCormack with clamping (Eq. 2.8).
#pragma once
#include <pybind11/pybind11.h>

namespace billow {
void register_sim_advect(pybind11::module_& m);
}  // namespace billow
