// Lists the native features compiled into billow._kernels. Add a feature by declaring its
// register function here and calling it in register_all.
#include "kernels.h"

namespace billow {
void register_all(pybind11::module_& m) { (void)m; }
}  // namespace billow
