// CUDA version of sim_advect.cpp (same arithmetic, one thread per sample). Built lazily by
// billow/_native.py (torch.utils.cpp_extension) when a CUDA toolkit and a CUDA torch exist;
// bound in cuda_module.cu. Tensors are contiguous float32 on one CUDA device, [x][y][z].
#include <torch/extension.h>

namespace billow {
namespace cuda {

struct Field {
  const float* d;
  int nx, ny, nz;
  float ox, oy, oz;
  __device__ float at(int i, int j, int k) const { return d[((long long)i * ny + j) * nz + k]; }
};

struct Lerp {
  int i0, i1;
  float f;
};

__device__ inline Lerp axis(float g, int n) {
  if (n <= 1) return {0, 0, 0.f};
  g = fminf(fmaxf(g, 0.f), float(n - 1));
  int i0 = min(int(g), n - 2);
  return {i0, i0 + 1, g - float(i0)};
}

__device__ inline float lerp(float a, float b, float f) { return a * (1.f - f) + b * f; }

__device__ inline float sample(const Field& q, float x, float y, float z, float* lo, float* hi) {
  Lerp a = axis(x - q.ox, q.nx), b = axis(y - q.oy, q.ny), c = axis(z - q.oz, q.nz);
  float v000 = q.at(a.i0, b.i0, c.i0), v001 = q.at(a.i0, b.i0, c.i1);
  float v010 = q.at(a.i0, b.i1, c.i0), v011 = q.at(a.i0, b.i1, c.i1);
  float v100 = q.at(a.i1, b.i0, c.i0), v101 = q.at(a.i1, b.i0, c.i1);
  float v110 = q.at(a.i1, b.i1, c.i0), v111 = q.at(a.i1, b.i1, c.i1);
  if (lo) {
    *lo = fminf(fminf(fminf(v000, v001), fminf(v010, v011)),
                fminf(fminf(v100, v101), fminf(v110, v111)));
    *hi = fmaxf(fmaxf(fmaxf(v000, v001), fmaxf(v010, v011)),
                fmaxf(fmaxf(v100, v101), fmaxf(v110, v111)));
  }
  float c00 = lerp(v000, v001, c.f), c01 = lerp(v010, v011, c.f);
  float c10 = lerp(v100, v101, c.f), c11 = lerp(v110, v111, c.f);
  return lerp(lerp(c00, c01, b.f), lerp(c10, c11, b.f), a.f);
}

struct Mac {
  Field u, v, w;
  int nx, ny, nz;
  __device__ void at(int layout, int i, int j, int k, float& vx, float& vy, float& vz) const {
    if (layout == 0) {
      vx = 0.5f * (u.at(i, j, k) + u.at(i + 1, j, k));
      vy = 0.5f * (v.at(i, j, k) + v.at(i, j + 1, k));
      vz = 0.5f * (w.at(i, j, k) + w.at(i, j, k + 1));
    } else if (layout == 1) {
      int a = max(i - 1, 0), b = min(i, nx - 1);
      vx = u.at(i, j, k);
      vy = 0.25f * ((v.at(a, j, k) + v.at(a, j + 1, k)) + (v.at(b, j, k) + v.at(b, j + 1, k)));
      vz = 0.25f * ((w.at(a, j, k) + w.at(a, j, k + 1)) + (w.at(b, j, k) + w.at(b, j, k + 1)));
    } else if (layout == 2) {
      int a = max(j - 1, 0), b = min(j, ny - 1);
      vx = 0.25f * ((u.at(i, a, k) + u.at(i + 1, a, k)) + (u.at(i, b, k) + u.at(i + 1, b, k)));
      vy = v.at(i, j, k);
      vz = 0.25f * ((w.at(i, a, k) + w.at(i, a, k + 1)) + (w.at(i, b, k) + w.at(i, b, k + 1)));
    } else {
      int a = max(k - 1, 0), b = min(k, nz - 1);
      vx = 0.25f * ((u.at(i, j, a) + u.at(i + 1, j, a)) + (u.at(i, j, b) + u.at(i + 1, j, b)));
      vy = 0.25f * ((v.at(i, j, a) + v.at(i, j + 1, a)) + (v.at(i, j, b) + v.at(i, j + 1, b)));
      vz = w.at(i, j, k);
    }
  }
};

__global__ void forward_kernel(Field q, int layout, Mac m, float dt, float* out) {
  long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (c >= (long long)q.nx * q.ny * q.nz) return;
  int k = c % q.nz, j = (c / q.nz) % q.ny, i = c / ((long long)q.nz * q.ny);
  float vx, vy, vz;
  m.at(layout, i, j, k, vx, vy, vz);
  out[c] = sample(q, i + q.ox - dt * vx, j + q.oy - dt * vy, k + q.oz - dt * vz, nullptr, nullptr);
}

__global__ void correct_kernel(Field q, Field f, int layout, Mac m, float dt, float* out) {
  long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (c >= (long long)q.nx * q.ny * q.nz) return;
  int k = c % q.nz, j = (c / q.nz) % q.ny, i = c / ((long long)q.nz * q.ny);
  float vx, vy, vz, lo, hi;
  m.at(layout, i, j, k, vx, vy, vz);
  float x = i + q.ox, y = j + q.oy, z = k + q.oz;
  float bwd = sample(f, x + dt * vx, y + dt * vy, z + dt * vz, nullptr, nullptr);
  sample(q, x - dt * vx, y - dt * vy, z - dt * vz, &lo, &hi);
  float corr = f.d[c] + 0.5f * (q.at(i, j, k) - bwd);
  out[c] = fminf(fmaxf(corr, lo), hi);
}

Field field(const torch::Tensor& t, float ox, float oy, float oz) {
  TORCH_CHECK(t.is_cuda() && t.dtype() == torch::kFloat32 && t.is_contiguous() && t.dim() == 3,
              "advect: expected contiguous float32 CUDA tensors [x, y, z]");
  return {t.data_ptr<float>(), (int)t.size(0), (int)t.size(1), (int)t.size(2), ox, oy, oz};
}

torch::Tensor advect(torch::Tensor q, int64_t layout, torch::Tensor u, torch::Tensor v,
                     torch::Tensor w, double dt, int64_t order) {
  const float off[4][3] = {{.5f, .5f, .5f}, {0.f, .5f, .5f}, {.5f, 0.f, .5f}, {.5f, .5f, 0.f}};
  TORCH_CHECK(layout >= 0 && layout <= 3 && (order == 0 || order == 1), "advect: bad layout/order");
  Field fq = field(q, off[layout][0], off[layout][1], off[layout][2]);
  Mac m{field(u, 0.f, .5f, .5f), field(v, .5f, 0.f, .5f), field(w, .5f, .5f, 0.f),
        (int)v.size(0), (int)u.size(1), (int)u.size(2)};
  auto out = torch::empty_like(q);
  long long n = q.numel();
  int threads = 256;
  int blocks = (int)((n + threads - 1) / threads);
  if (order == 0) {
    forward_kernel<<<blocks, threads>>>(fq, (int)layout, m, (float)dt, out.data_ptr<float>());
  } else {
    auto fwd = torch::empty_like(q);
    forward_kernel<<<blocks, threads>>>(fq, (int)layout, m, (float)dt, fwd.data_ptr<float>());
    Field ff = fq;
    ff.d = fwd.data_ptr<float>();
    correct_kernel<<<blocks, threads>>>(fq, ff, (int)layout, m, (float)dt, out.data_ptr<float>());
  }
  return out;
}

void register_sim_advect_cuda(pybind11::module_& m) {
  m.def("sim_advect", &advect, "CUDA advection (see sim_advect.cpp); returns the result");
}

}  // namespace cuda
}  // namespace billow
