// Lists the native features compiled into billow._kernels. Add a feature by declaring its
// register function here and calling it in register_all.
#include "kernels.h"
#include "sim_advect.h"
#include "sim_forces.h"
#include "sim_pressure.h"
#include "uv_lookup.h"

namespace billow {
void register_all(pybind11::module_& m) {
  register_sim_advect(m);
  register_sim_forces(m);
  register_sim_pressure(m);
  register_uv_lookup(m);
}
}  // namespace billow
