// CUDA version of uv_lookup.cpp: one thread per pixel over the addressing of uv_lookup.h, with
// the same blend arithmetic as the CPU's (rounded per operation, never fused). Built lazily by
// billow/_native.py (torch.utils.cpp_extension) when a CUDA toolkit and a CUDA torch exist;
// bound in cuda_module.cu. Tensors are contiguous and on one CUDA device: texture [Ht, Wt, 4]
// uint8 or float32, uv [H, W, 2] float32 or uint16, mask [H, W] bool/uint8 (times
// mask_scale) or float32, background [H, W, 3] (the texture's dtype) or none.
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/extension.h>

#include <cstdint>
#include <optional>

#include "uv_lookup.h"

namespace billow {
namespace cuda {
namespace {

using uvl::Axis;
using uvl::mask_value;
using uvl::uv_value;

__device__ inline float load(uint8_t v) { return float(v); }
__device__ inline float load(float v) { return v; }
__device__ inline void store(uint8_t* p, float v) {
  // nearest, ties to even (the CPU's cvtps2dq and torch.round), then clamped
  p[0] = (uint8_t)fminf(fmaxf(rintf(v), 0.f), 255.f);
}
__device__ inline void store(float* p, float v) { p[0] = v; }

template <class T, class U, class M>
__global__ void lookup_kernel(const T* tex, int th, int tw, const U* uv, const M* mask,
                              float mask_scale, const T* bg, T* out, long long n) {
  const long long p = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (p >= n) return;
  constexpr float s = sizeof(T) == 1 ? 255.f : 1.f;
  const float m = mask_value(mask[p], mask_scale);
  const int oc = bg ? 3 : 4;
  T* o = out + p * oc;
  if (!(m > 0.f)) {
    for (int k = 0; k < oc; ++k) o[k] = bg ? bg[p * 3 + k] : T(0);
    return;
  }
  const float u = uv_value(uv[2 * p]), v = uv_value(uv[2 * p + 1]);
  const uvl::Texel t = uvl::texel(u, v, tw, th);
  const Axis ax = t.x, ay = t.y;
  const T* a = tex + ((long long)ay.i0 * tw + ax.i0) * 4;
  const T* b = tex + ((long long)ay.i0 * tw + ax.i1) * 4;
  const T* c = tex + ((long long)ay.i1 * tw + ax.i0) * 4;
  const T* d = tex + ((long long)ay.i1 * tw + ax.i1) * 4;
  float val[4];
  for (int k = 0; k < 4; ++k) {
    // __fmul_rn/__fadd_rn: no fused multiply-adds, so the rounding matches the CPU kernel
    const float ak = load(a[k]), ck = load(c[k]);
    const float top = __fadd_rn(ak, __fmul_rn(ax.f, __fsub_rn(load(b[k]), ak)));
    const float bottom = __fadd_rn(ck, __fmul_rn(ax.f, __fsub_rn(load(d[k]), ck)));
    val[k] = __fadd_rn(top, __fmul_rn(ay.f, __fsub_rn(bottom, top)));
  }
  const float cover = __fmul_rn(__fmul_rn(m, val[3]), 1.f / s);
  if (bg) {
    for (int k = 0; k < 3; ++k) {
      const float g = load(bg[p * 3 + k]);
      store(o + k, __fadd_rn(g, __fmul_rn(cover, __fsub_rn(val[k], g))));
    }
  } else {
    for (int k = 0; k < 3; ++k) store(o + k, val[k]);
    store(o + 3, __fmul_rn(cover, s));
  }
}

template <class T, class U, class M>
void launch(const torch::Tensor& tex, const torch::Tensor& uv, const torch::Tensor& mask,
            double mask_scale, const std::optional<torch::Tensor>& bg, torch::Tensor& out) {
  const long long n = uv.size(0) * uv.size(1);
  if (n == 0) return;
  const int threads = 256;
  const int blocks = (int)((n + threads - 1) / threads);
  lookup_kernel<T, U, M><<<blocks, threads, 0, c10::cuda::getCurrentCUDAStream()>>>(
      tex.data_ptr<T>(), (int)tex.size(0), (int)tex.size(1),
      reinterpret_cast<const U*>(uv.data_ptr()), reinterpret_cast<const M*>(mask.data_ptr()),
      (float)mask_scale, bg ? bg->data_ptr<T>() : nullptr, out.data_ptr<T>(), n);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <class T, class U>
void by_mask(const torch::Tensor& tex, const torch::Tensor& uv, const torch::Tensor& mask,
             double s, const std::optional<torch::Tensor>& bg, torch::Tensor& out) {
  if (mask.scalar_type() == torch::kFloat32)
    launch<T, U, float>(tex, uv, mask, s, bg, out);
  else
    launch<T, U, uint8_t>(tex, uv, mask, s, bg, out);
}

template <class T>
void by_uv(const torch::Tensor& tex, const torch::Tensor& uv, const torch::Tensor& mask,
           double s, const std::optional<torch::Tensor>& bg, torch::Tensor& out) {
  if (uv.scalar_type() == torch::kFloat32)
    by_mask<T, float>(tex, uv, mask, s, bg, out);
  else
    by_mask<T, uint16_t>(tex, uv, mask, s, bg, out);
}

void check(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.is_cuda() && t.is_contiguous(), "uv_lookup: ", name,
              " must be a contiguous CUDA tensor");
}

torch::Tensor lookup(torch::Tensor tex, torch::Tensor uv, torch::Tensor mask, double mask_scale,
                     std::optional<torch::Tensor> bg) {
  check(tex, "texture");
  check(uv, "uv");
  check(mask, "mask");
  TORCH_CHECK(tex.dim() == 3 && tex.size(2) == 4 && tex.size(0) > 0 && tex.size(1) > 0,
              "uv_lookup: texture must be [H, W, 4]");
  TORCH_CHECK(tex.scalar_type() == torch::kUInt8 || tex.scalar_type() == torch::kFloat32,
              "uv_lookup: texture must be uint8 or float32");
  TORCH_CHECK(uv.dim() == 3 && uv.size(2) == 2, "uv_lookup: uv must be [H, W, 2]");
  TORCH_CHECK(uv.scalar_type() == torch::kFloat32 || uv.scalar_type() == torch::kUInt16,
              "uv_lookup: uv must be float32 or uint16");
  TORCH_CHECK(mask.dim() == 2 && mask.size(0) == uv.size(0) && mask.size(1) == uv.size(1),
              "uv_lookup: mask must be [H, W]");
  TORCH_CHECK(mask.scalar_type() == torch::kFloat32 || mask.scalar_type() == torch::kUInt8 ||
                  mask.scalar_type() == torch::kBool,
              "uv_lookup: mask must be bool, uint8 or float32");
  TORCH_CHECK(tex.device() == uv.device() && tex.device() == mask.device(),
              "uv_lookup: all tensors must be on one device");
  if (bg) {
    check(*bg, "background");
    TORCH_CHECK(bg->dim() == 3 && bg->size(0) == uv.size(0) && bg->size(1) == uv.size(1) &&
                    bg->size(2) == 3 && bg->scalar_type() == tex.scalar_type() &&
                    bg->device() == tex.device(),
                "uv_lookup: background must be [H, W, 3] with the texture's dtype and device");
  }
  auto out = torch::empty({uv.size(0), uv.size(1), bg ? 3 : 4}, tex.options());
  const c10::cuda::CUDAGuard guard(tex.device());
  if (tex.scalar_type() == torch::kUInt8)
    by_uv<uint8_t>(tex, uv, mask, mask_scale, bg, out);
  else
    by_uv<float>(tex, uv, mask, mask_scale, bg, out);
  return out;
}

}  // namespace

void register_uv_lookup_cuda(pybind11::module_& m) {
  m.def("uv_lookup", &lookup, "CUDA re-texturing lookup (see uv_lookup.h); returns the result");
}

}  // namespace cuda
}  // namespace billow
