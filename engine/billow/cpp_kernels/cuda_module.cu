// The lazily built CUDA module (billow/_native.py: cuda_kernels()). Not part of the CPU build:
// setup.py compiles only *.cpp into billow._kernels. Vorticity confinement has no CUDA kernel
// (sim_forces.cpp says why).
#include <torch/extension.h>

namespace billow {
namespace cuda {
void register_sim_advect_cuda(pybind11::module_& m);
void register_sim_pressure_cuda(pybind11::module_& m);
void register_uv_lookup_cuda(pybind11::module_& m);
}  // namespace cuda
}  // namespace billow

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "billow CUDA kernels";
  billow::cuda::register_sim_advect_cuda(m);
  billow::cuda::register_sim_pressure_cuda(m);
  billow::cuda::register_uv_lookup_cuda(m);
}
