// CUDA version of the pressure kernels that parallelise on a GPU: the 7-point matrix apply, one
// thread per cell over the row arithmetic of sim_pressure.h (shared with sim_pressure.cpp).
// MIC(0) is sequential by nature; on a GPU the solver uses Jacobi, and the CG loop runs in
// torch on the device (billow/sim/reference.py pcg). Built lazily by billow/_native.py; bound
// in cuda_module.cu.
#include <torch/extension.h>

#include "sim_pressure.h"

namespace billow {
namespace cuda {

using pressure::Sys;

__global__ void laplace_kernel(Sys s, const float* p, float* out) {
  long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (c >= s.n()) return;
  int k = c % s.nz, j = (c / s.nz) % s.ny, i = c / ((long long)s.nz * s.ny);
  out[c] = s.row(p, c, i, j, k);
}

torch::Tensor laplace_apply(torch::Tensor diag, torch::Tensor ax, torch::Tensor ay,
                            torch::Tensor az, torch::Tensor p) {
  for (auto* t : {&diag, &ax, &ay, &az, &p})
    TORCH_CHECK(t->is_cuda() && t->dtype() == torch::kFloat32 && t->is_contiguous() &&
                    t->dim() == 3 && t->sizes() == diag.sizes(),
                "laplace_apply: expected contiguous float32 CUDA tensors [x, y, z] of one shape");
  auto out = torch::empty_like(p);
  Sys s{diag.data_ptr<float>(), ax.data_ptr<float>(), ay.data_ptr<float>(),
        az.data_ptr<float>(), (int)p.size(0), (int)p.size(1), (int)p.size(2)};
  long long n = p.numel();
  int threads = 256;
  if (n > 0)
    laplace_kernel<<<(int)((n + threads - 1) / threads), threads>>>(s, p.data_ptr<float>(),
                                                                     out.data_ptr<float>());
  return out;
}

void register_sim_pressure_cuda(pybind11::module_& m) {
  m.def("sim_laplace_apply", &laplace_apply, "CUDA A p (see sim_pressure.h)");
}

}  // namespace cuda
}  // namespace billow
