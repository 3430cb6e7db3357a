// CUDA version of sim_advect.cpp: one thread per sample over the arithmetic of sim_advect.h.
// Built lazily by billow/_native.py (torch.utils.cpp_extension) when a CUDA toolkit and a CUDA
// torch exist; bound in cuda_module.cu. Tensors are contiguous float32 on one CUDA device,
// [x][y][z].
#include <torch/extension.h>

#include "sim_advect.h"

namespace billow {
namespace cuda {

using advect::Field;
using advect::Mac;
using advect::OFFSETS;

template <int layout>
__global__ void forward_kernel(Field q, Mac m, float dt, float* out) {
  long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (c >= (long long)q.nx * q.ny * q.nz) return;
  int k = c % q.nz, j = (c / q.nz) % q.ny, i = c / ((long long)q.nz * q.ny);
  out[c] = advect::forward<layout>(q, m, dt, i, j, k);
}

template <int layout>
__global__ void maccormack_kernel(Field q, Field f, Mac m, float dt, float* out) {
  long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (c >= (long long)q.nx * q.ny * q.nz) return;
  int k = c % q.nz, j = (c / q.nz) % q.ny, i = c / ((long long)q.nz * q.ny);
  out[c] = advect::maccormack<layout>(q, f, m, dt, i, j, k);
}

Field field(const torch::Tensor& t, float ox, float oy, float oz) {
  TORCH_CHECK(t.is_cuda() && t.dtype() == torch::kFloat32 && t.is_contiguous() && t.dim() == 3,
              "advect: expected contiguous float32 CUDA tensors [x, y, z]");
  return {t.data_ptr<float>(), (int)t.size(0), (int)t.size(1), (int)t.size(2), ox, oy, oz};
}

template <int layout>
void launch(const Field& q, const Mac& m, float dt, int64_t order, torch::Tensor& out,
            const torch::Tensor& like) {
  long long n = (long long)q.nx * q.ny * q.nz;
  if (n == 0) return;
  int threads = 256;
  int blocks = (int)((n + threads - 1) / threads);
  if (order == 0) {
    forward_kernel<layout><<<blocks, threads>>>(q, m, dt, out.data_ptr<float>());
    return;
  }
  auto fwd = torch::empty_like(like);
  forward_kernel<layout><<<blocks, threads>>>(q, m, dt, fwd.data_ptr<float>());
  Field f = q;
  f.d = fwd.data_ptr<float>();
  maccormack_kernel<layout><<<blocks, threads>>>(q, f, m, dt, out.data_ptr<float>());
}

torch::Tensor advect_cuda(torch::Tensor q, int64_t layout, torch::Tensor u, torch::Tensor v,
                          torch::Tensor w, double dt, int64_t order) {
  TORCH_CHECK(layout >= 0 && layout <= 3 && (order == 0 || order == 1),
              "advect: layout must be 0..3 and order 0 or 1");
  const float* o3 = OFFSETS[layout];
  Field fq = field(q, o3[0], o3[1], o3[2]);
  Mac m{field(u, 0.f, .5f, .5f), field(v, .5f, 0.f, .5f), field(w, .5f, .5f, 0.f),
        (int)v.size(0), (int)u.size(1), (int)u.size(2)};
  auto out = torch::empty_like(q);
  using Launch = void (*)(const Field&, const Mac&, float, int64_t, torch::Tensor&,
                          const torch::Tensor&);
  static const Launch table[4] = {launch<0>, launch<1>, launch<2>, launch<3>};
  table[layout](fq, m, (float)dt, order, out, q);
  return out;
}

void register_sim_advect_cuda(pybind11::module_& m) {
  m.def("sim_advect", &advect_cuda, "CUDA advection (see sim_advect.h); returns the result");
}

}  // namespace cuda
}  // namespace billow
