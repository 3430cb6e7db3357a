// CUDA version of the pressure kernels that parallelise on a GPU: the 7-point matrix apply and
// the Jacobi preconditioner (MIC(0) is sequential by nature; on a GPU the solver uses Jacobi).
// The CG loop runs in torch on the device (billow/sim/reference.py pcg). Built lazily by
// billow/_native.py; bound in cuda_module.cu.
#include <torch/extension.h>

namespace billow {
namespace cuda {

__global__ void laplace_kernel(const float* diag, const float* ax, const float* ay,
                               const float* az, const float* p, float* out, int nx, int ny,
                               int nz) {
  long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (c >= (long long)nx * ny * nz) return;
  int k = c % nz, j = (c / nz) % ny, i = c / ((long long)nz * ny);
  long long sx = (long long)ny * nz, sy = nz;
  float xm = i > 0 ? ax[c - sx] * p[c - sx] : 0.f;
  float xp = i < nx - 1 ? ax[c] * p[c + sx] : 0.f;
  float ym = j > 0 ? ay[c - sy] * p[c - sy] : 0.f;
  float yp = j < ny - 1 ? ay[c] * p[c + sy] : 0.f;
  float zm = k > 0 ? az[c - 1] * p[c - 1] : 0.f;
  float zp = k < nz - 1 ? az[c] * p[c + 1] : 0.f;
  out[c] = diag[c] * p[c] + ((xm + xp) + (ym + yp) + (zm + zp));
}

torch::Tensor laplace_apply(torch::Tensor diag, torch::Tensor ax, torch::Tensor ay,
                            torch::Tensor az, torch::Tensor p) {
  for (auto* t : {&diag, &ax, &ay, &az, &p})
    TORCH_CHECK(t->is_cuda() && t->dtype() == torch::kFloat32 && t->is_contiguous() &&
                    t->sizes() == diag.sizes(),
                "laplace_apply: expected contiguous float32 CUDA tensors of one shape");
  auto out = torch::empty_like(p);
  long long n = p.numel();
  int threads = 256;
  laplace_kernel<<<(int)((n + threads - 1) / threads), threads>>>(
      diag.data_ptr<float>(), ax.data_ptr<float>(), ay.data_ptr<float>(), az.data_ptr<float>(),
      p.data_ptr<float>(), out.data_ptr<float>(), (int)p.size(0), (int)p.size(1),
      (int)p.size(2));
  return out;
}

void register_sim_pressure_cuda(pybind11::module_& m) {
  m.def("sim_laplace_apply", &laplace_apply, "CUDA A p (see sim_pressure.cpp)");
}

}  // namespace cuda
}  // namespace billow
