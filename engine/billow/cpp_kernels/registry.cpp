// Lists the native features compiled into billow._kernels. Add a feature by declaring its
// register function in kernels.h and calling it here.
#include "kernels.h"

namespace billow {
void register_all(pybind11::module_& m) {
  register_sim_advect(m);
  register_sim_forces(m);
  register_sim_pressure(m);
  register_uv_lookup(m);
}
}  // namespace billow
