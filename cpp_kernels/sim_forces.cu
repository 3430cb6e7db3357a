// CUDA: vorticity confinement runs as torch ops on the device (billow/sim/reference.py,
// vorticity_confinement); elementwise stencils of that size are memory-bound and torch's
// fused kernels are within a small factor of a hand-written one. This file keeps the
// feature's triplet complete and registers nothing.
#include <torch/extension.h>

namespace billow {
namespace cuda {
void register_sim_forces_cuda(pybind11::module_& m) { (void)m; }
}  // namespace cuda
}  // namespace billow
