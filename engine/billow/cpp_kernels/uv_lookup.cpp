// Re-texturing lookup, the CPU/OpenMP version (SSE for the four channels of a pixel, AVX2 for
// eight pixels at a time where the CPU has it), over the per-pixel addressing of uv_lookup.h
// (shared with the CUDA version, uv_lookup.cu); the header also says the layout and types.
//
// Per pixel, with coverage c = mask * texture alpha:
//   background plate given (opaque RGB):  out = bg + c (lookup - bg)
//   no plate (straight-alpha RGBA out):   out.rgb = lookup.rgb, out.a = c  (0 where mask = 0)
// Pixels whose mask is 0 never touch the texture, so the cost scales with the figure's area.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels.h"
#include "uv_lookup.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// The AVX2 path is compiled into every x86-64 build (function-level target attribute, no
// -mavx2 for the whole module) and chosen at run time, so one wheel runs on any x86-64 CPU.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define BILLOW_AVX2 1
#define BILLOW_AVX2_FN __attribute__((target("avx2"))) inline
#else
#define BILLOW_AVX2 0
#endif

namespace py = pybind11;

namespace billow {
namespace {

using uvl::Axis;
using uvl::mask_value;
using uvl::uv_value;

// Four channels as floats: an SSE register where there is one (x86-64 always has SSE2), else
// a plain struct; the arithmetic is the same either way.
#if defined(__SSE2__)
struct V4 {
  __m128 r;
};
inline V4 v4(float a) { return {_mm_set1_ps(a)}; }
inline V4 operator+(V4 a, V4 b) { return {_mm_add_ps(a.r, b.r)}; }
inline V4 operator-(V4 a, V4 b) { return {_mm_sub_ps(a.r, b.r)}; }
inline V4 operator*(V4 a, V4 b) { return {_mm_mul_ps(a.r, b.r)}; }
inline float lane3(V4 a) { return _mm_cvtss_f32(_mm_shuffle_ps(a.r, a.r, _MM_SHUFFLE(3, 3, 3, 3))); }
inline V4 load4(const uint8_t* p) {
  int32_t w;
  std::memcpy(&w, p, 4);
  const __m128i z = _mm_setzero_si128();
  __m128i b = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(w), z), z);
  return {_mm_cvtepi32_ps(b)};
}
inline V4 load3(const uint8_t* p) {
  // byte by byte: a 3-byte memcpy into a word read back whole stalls store forwarding
  int32_t w = int32_t(p[0]) | int32_t(p[1]) << 8 | int32_t(p[2]) << 16;
  const __m128i z = _mm_setzero_si128();
  __m128i b = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(w), z), z);
  return {_mm_cvtepi32_ps(b)};
}
inline V4 load4(const float* p) { return {_mm_loadu_ps(p)}; }
inline V4 load3(const float* p) { return {_mm_set_ps(0.f, p[2], p[1], p[0])}; }
inline void store(uint8_t* p, V4 a, int n) {
  // values are convex combinations of 0..255, so only rounding is needed (to nearest even,
  // like torch.round)
  __m128i i = _mm_cvtps_epi32(a.r);
  int32_t w = _mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(i, i), i));
  std::memcpy(p, &w, n);
}
inline void store(float* p, V4 a, int n) {
  alignas(16) float t[4];
  _mm_store_ps(t, a.r);
  std::memcpy(p, t, n * sizeof(float));
}
#else
struct V4 {
  float r[4];
};
inline V4 v4(float a) { return {{a, a, a, a}}; }
#define BILLOW_V4_OP(op)                                                  \
  inline V4 operator op(V4 a, V4 b) {                                     \
    return {{a.r[0] op b.r[0], a.r[1] op b.r[1], a.r[2] op b.r[2], a.r[3] op b.r[3]}}; \
  }
BILLOW_V4_OP(+)
BILLOW_V4_OP(-)
BILLOW_V4_OP(*)
#undef BILLOW_V4_OP
inline float lane3(V4 a) { return a.r[3]; }
inline V4 load4(const uint8_t* p) { return {{float(p[0]), float(p[1]), float(p[2]), float(p[3])}}; }
inline V4 load3(const uint8_t* p) { return {{float(p[0]), float(p[1]), float(p[2]), 0.f}}; }
inline V4 load4(const float* p) { return {{p[0], p[1], p[2], p[3]}}; }
inline V4 load3(const float* p) { return {{p[0], p[1], p[2], 0.f}}; }
inline void store(uint8_t* p, V4 a, int n) {
  for (int k = 0; k < n; ++k) p[k] = (uint8_t)std::nearbyint(a.r[k]);
}
inline void store(float* p, V4 a, int n) {
  for (int k = 0; k < n; ++k) p[k] = a.r[k];
}
#endif

inline bool has_avx2() {
#if BILLOW_AVX2
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
#else
  return false;
#endif
}

template <class T>
constexpr float full_scale() {
  return std::is_same<T, uint8_t>::value ? 255.f : 1.f;
}

template <class T, class U, class M>
struct Job {
  const T* tex;  // [th][tw][4]
  int th, tw;
  const U* uv;  // [h][w][2]
  const M* mask;  // [h][w]
  float mask_scale;
  const T* bg;  // [h][w][3] or null
  T* out;       // [h][w][3] with a background, else [h][w][4]
  int h, w;
};

// One row of pixels; kPlate: composite over the background, else straight-alpha RGBA.
template <bool kPlate, class T, class U, class M>
void row(const Job<T, U, M>& j, int y, int x0) {
  constexpr float s = full_scale<T>();
  const int oc = kPlate ? 3 : 4;
  for (int x = x0; x < j.w; ++x) {
    const long long p = (long long)y * j.w + x;
    const float m = mask_value(j.mask[p], j.mask_scale);
    T* o = j.out + p * oc;
    if (!(m > 0.f)) {
      if (kPlate)
        std::memcpy(o, j.bg + p * 3, 3 * sizeof(T));
      else
        std::memset(o, 0, 4 * sizeof(T));
      continue;
    }
    const float u = uv_value(j.uv[2 * p]), v = uv_value(j.uv[2 * p + 1]);
    const uvl::Texel t = uvl::texel(u, v, j.tw, j.th);
    const Axis ax = t.x, ay = t.y;
    const T* r0 = j.tex + (long long)ay.i0 * j.tw * 4;
    const T* r1 = j.tex + (long long)ay.i1 * j.tw * 4;
    const V4 fx = v4(ax.f), fy = v4(ay.f);
    const V4 a = load4(r0 + 4 * ax.i0), b = load4(r0 + 4 * ax.i1);
    const V4 c = load4(r1 + 4 * ax.i0), d = load4(r1 + 4 * ax.i1);
    const V4 top = a + fx * (b - a), bottom = c + fx * (d - c);
    const V4 val = top + fy * (bottom - top);
    const float cover = m * lane3(val) * (1.f / s);
    if (kPlate) {
      const V4 g = load3(j.bg + p * 3);
      store(o, g + v4(cover) * (val - g), 3);
    } else {
      store(o, val, 3);
      const float alpha = cover * s;
      store(o + 3, v4(alpha), 1);
    }
  }
}

#if BILLOW_AVX2
// AVX2 helpers: eight pixels per register, lane i = pixel x + i.
BILLOW_AVX2_FN void load_uv8(const float* q, __m256& u, __m256& v) {
  const __m256 a = _mm256_loadu_ps(q), b = _mm256_loadu_ps(q + 8);
  // per 128-bit lane: (u0 u1 u4 u5 | u2 u3 u6 u7), then the 64-bit blocks back in order
  const __m256 us = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
  const __m256 vs = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
  u = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(us), _MM_SHUFFLE(3, 1, 2, 0)));
  v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(vs), _MM_SHUFFLE(3, 1, 2, 0)));
}
BILLOW_AVX2_FN void load_uv8(const uint16_t* q, __m256& u, __m256& v) {
  const __m256i a = _mm256_loadu_si256((const __m256i*)q);  // dword i = u_i | v_i << 16
  const __m256 k = _mm256_set1_ps(65535.f);
  u = _mm256_div_ps(_mm256_cvtepi32_ps(_mm256_and_si256(a, _mm256_set1_epi32(0xffff))), k);
  v = _mm256_div_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(a, 16)), k);
}
BILLOW_AVX2_FN __m256 load_mask8(const uint8_t* m, float scale) {
  const __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)m));
  return _mm256_mul_ps(_mm256_cvtepi32_ps(b), _mm256_set1_ps(scale));
}
BILLOW_AVX2_FN __m256 load_mask8(const float* m, float) { return _mm256_loadu_ps(m); }

BILLOW_AVX2_FN void axis8(__m256 g, int n, __m256i& i0, __m256& f) {
  g = _mm256_max_ps(g, _mm256_setzero_ps());  // max_ps gives its 2nd operand for NaN: 0
  g = _mm256_min_ps(g, _mm256_set1_ps(float(n - 1)));
  i0 = _mm256_min_epi32(_mm256_cvttps_epi32(g), _mm256_set1_epi32(n - 2));
  f = _mm256_sub_ps(g, _mm256_cvtepi32_ps(i0));
}

template <int k>
BILLOW_AVX2_FN __m256 channel(__m256i px) {  // byte k of each 32-bit pixel, as float
  return _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(px, 8 * k), _mm256_set1_epi32(0xff)));
}
BILLOW_AVX2_FN __m256 lerp8(__m256 a, __m256 b, __m256 f) {
  return _mm256_add_ps(a, _mm256_mul_ps(f, _mm256_sub_ps(b, a)));
}
template <int k>
BILLOW_AVX2_FN __m256 bilinear(__m256i a, __m256i b, __m256i c, __m256i d, __m256 fx, __m256 fy) {
  const __m256 top = lerp8(channel<k>(a), channel<k>(b), fx);
  return lerp8(top, lerp8(channel<k>(c), channel<k>(d), fx), fy);
}
template <int k>
BILLOW_AVX2_FN __m256i to_byte(__m256 x) {  // rounded to nearest even and clamped, like store()
  const __m256i i = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(x), _mm256_setzero_si256()),
                                     _mm256_set1_epi32(255));
  return _mm256_slli_epi32(i, 8 * k);
}
// 8 RGB pixels (24 bytes) to 8 dwords r | g << 8 | b << 16, and back; never touching memory
// beyond the 24 bytes.
BILLOW_AVX2_FN __m256i load_rgb8(const uint8_t* p) {
  const __m256i x = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(p + 8)),
                                     _mm_loadu_si128((const __m128i*)p));
  const __m256i spread = _mm256_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1,
                                          4, 5, 6, -1, 7, 8, 9, -1, 10, 11, 12, -1, 13, 14, 15, -1);
  return _mm256_shuffle_epi8(x, spread);
}
BILLOW_AVX2_FN void store_rgb8(uint8_t* p, __m256i px) {
  const __m256i pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,
                                        0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  const __m256i x = _mm256_shuffle_epi8(px, pack);
  const __m128i hi = _mm256_extracti128_si256(x, 1);
  _mm_storeu_si128((__m128i*)p, _mm256_castsi256_si128(x));  // bytes 12..15 are rewritten next
  _mm_storel_epi64((__m128i*)(p + 12), hi);
  const int32_t tail = _mm_cvtsi128_si32(_mm_srli_si128(hi, 8));
  std::memcpy(p + 20, &tail, 4);
}

// Pixels p .. p + 7 of row(), lane by lane with the same float operations in the same order.
template <bool kPlate, class U, class M>
BILLOW_AVX2_FN void one8(const Job<uint8_t, U, M>& j, long long p) {
  const __m256 m = load_mask8(j.mask + p, j.mask_scale);
  const __m256 inside = _mm256_cmp_ps(m, _mm256_setzero_ps(), _CMP_GT_OQ);
  if (_mm256_movemask_ps(inside) == 0) {
    if (kPlate)
      std::memcpy(j.out + 3 * p, j.bg + 3 * p, 24);
    else
      _mm256_storeu_si256((__m256i*)(j.out + 4 * p), _mm256_setzero_si256());
    return;
  }
  __m256 u, v, fx, fy;
  __m256i x0, y0;
  load_uv8(j.uv + 2 * p, u, v);
  const __m256 half = _mm256_set1_ps(0.5f);
  axis8(_mm256_sub_ps(_mm256_mul_ps(u, _mm256_set1_ps(float(j.tw))), half), j.tw, x0, fx);
  axis8(_mm256_sub_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_set1_ps(1.f), v),
                                    _mm256_set1_ps(float(j.th))), half),
        j.th, y0, fy);
  const int* t = reinterpret_cast<const int*>(j.tex);
  const __m256i i = _mm256_add_epi32(_mm256_mullo_epi32(y0, _mm256_set1_epi32(j.tw)), x0);
  const __m256i a = _mm256_i32gather_epi32(t, i, 4), b = _mm256_i32gather_epi32(t + 1, i, 4);
  const __m256i c = _mm256_i32gather_epi32(t + j.tw, i, 4);
  const __m256i d = _mm256_i32gather_epi32(t + j.tw + 1, i, 4);
  const __m256 r = bilinear<0>(a, b, c, d, fx, fy), g = bilinear<1>(a, b, c, d, fx, fy);
  const __m256 bl = bilinear<2>(a, b, c, d, fx, fy), al = bilinear<3>(a, b, c, d, fx, fy);
  const __m256 cover = _mm256_mul_ps(_mm256_mul_ps(m, al), _mm256_set1_ps(1.f / 255.f));
  if (kPlate) {
    const __m256i plate = load_rgb8(j.bg + 3 * p);
    __m256i px = _mm256_or_si256(_mm256_or_si256(to_byte<0>(lerp8(channel<0>(plate), r, cover)),
                                                 to_byte<1>(lerp8(channel<1>(plate), g, cover))),
                                 to_byte<2>(lerp8(channel<2>(plate), bl, cover)));
    px = _mm256_blendv_epi8(plate, px, _mm256_castps_si256(inside));
    store_rgb8(j.out + 3 * p, px);
  } else {
    __m256i px = _mm256_or_si256(_mm256_or_si256(to_byte<0>(r), to_byte<1>(g)),
                                 _mm256_or_si256(to_byte<2>(bl),
                                                 to_byte<3>(_mm256_mul_ps(cover, _mm256_set1_ps(255.f)))));
    px = _mm256_and_si256(px, _mm256_castps_si256(inside));
    _mm256_storeu_si256((__m256i*)(j.out + 4 * p), px);
  }
}

// The runtime's path (uint8 texture, 8 pixels at a time, AVX2 gathers); the arithmetic is
// row()'s, lane by lane. Returns the first pixel left for row() (the last w % 8).
template <class T>
constexpr bool kSimd = std::is_same<T, uint8_t>::value;

template <bool kPlate, class U, class M>
BILLOW_AVX2_FN int row8(const Job<uint8_t, U, M>& j, int y) {
  const int w8 = j.w - j.w % 8;
  for (int x = 0; x < w8; x += 8) one8<kPlate>(j, (long long)y * j.w + x);
  return w8;
}
#else
template <class T>
constexpr bool kSimd = false;
template <bool kPlate, class T, class U, class M>
int row8(const Job<T, U, M>&, int) {
  return 0;
}
#endif

template <bool kPlate, class T, class U, class M>
void rows(const Job<T, U, M>& j) {
  // Rows differ in cost (background pixels are nearly free): hand them out in small chunks.
  const bool simd = kSimd<T> && j.tw > 1 && j.th > 1 && has_avx2();
#pragma omp parallel for schedule(dynamic, 8)
  for (int y = 0; y < j.h; ++y) {
    int x = 0;
    if constexpr (kSimd<T>) {
      if (simd) x = row8<kPlate>(j, y);
    }
    row<kPlate>(j, y, x);
  }
}

template <class T, class U, class M>
void run(const Job<T, U, M>& j) {
  if (j.bg)
    rows<true>(j);
  else
    rows<false>(j);
}

void need(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("uv_lookup: " + what);
}

bool contiguous(const py::array& a) { return (a.flags() & py::array::c_style) != 0; }

template <class X>
bool is(const py::array& a) {
  return py::isinstance<py::array_t<X>>(a) && contiguous(a);
}

template <class T, class U, class M>
void dispatch3(py::array tex, py::array uv, py::array mask, float mask_scale,
               std::optional<py::array> bg, py::array out) {
  Job<T, U, M> j{static_cast<const T*>(tex.data()), (int)tex.shape(0), (int)tex.shape(1),
                 static_cast<const U*>(uv.data()), static_cast<const M*>(mask.data()),
                 mask_scale, bg ? static_cast<const T*>(bg->data()) : nullptr,
                 static_cast<T*>(out.mutable_data()), (int)uv.shape(0), (int)uv.shape(1)};
  py::gil_scoped_release nogil;
  run(j);
}

template <class T, class U>
void dispatch2(py::array tex, py::array uv, py::array mask, float s, std::optional<py::array> bg,
               py::array out) {
  if (is<float>(mask))
    dispatch3<T, U, float>(tex, uv, mask, s, bg, out);
  else if (is<uint8_t>(mask) || is<bool>(mask))
    dispatch3<T, U, uint8_t>(tex, uv, mask, s, bg, out);
  else
    need(false, "mask must be a C-contiguous bool, uint8 or float32 array");
}

template <class T>
void dispatch1(py::array tex, py::array uv, py::array mask, float s, std::optional<py::array> bg,
               py::array out) {
  if (is<float>(uv))
    dispatch2<T, float>(tex, uv, mask, s, bg, out);
  else if (is<uint16_t>(uv))
    dispatch2<T, uint16_t>(tex, uv, mask, s, bg, out);
  else
    need(false, "uv must be a C-contiguous float32 or uint16 array");
}

void lookup(py::array tex, py::array uv, py::array mask, float mask_scale,
            std::optional<py::array> bg, py::array out) {
  need(tex.ndim() == 3 && tex.shape(2) == 4 && tex.shape(0) > 0 && tex.shape(1) > 0,
       "texture must be [H, W, 4] (RGBA)");
  need(uv.ndim() == 3 && uv.shape(2) == 2, "uv must be [H, W, 2]");
  const py::ssize_t h = uv.shape(0), w = uv.shape(1);
  need(mask.ndim() == 2 && mask.shape(0) == h && mask.shape(1) == w, "mask must be [H, W]");
  need(out.ndim() == 3 && out.shape(0) == h && out.shape(1) == w &&
           out.shape(2) == (bg ? 3 : 4),
       "out must be [H, W, 3] with a background, else [H, W, 4]");
  need(out.writeable(), "out must be writeable");
  if (bg)
    need(bg->ndim() == 3 && bg->shape(0) == h && bg->shape(1) == w && bg->shape(2) == 3,
         "background must be [H, W, 3]");
  const bool u8 = is<uint8_t>(tex);
  need(u8 || is<float>(tex), "texture must be a C-contiguous uint8 or float32 array");
  auto same = [&](const py::array& a) { return u8 ? is<uint8_t>(a) : is<float>(a); };
  need(same(out) && (!bg || same(*bg)),
       "texture, background and out must share one dtype (uint8 or float32), C-contiguous");
  need(out.data() != uv.data() && out.data() != tex.data(), "out must not alias an input");
  if (u8)
    dispatch1<uint8_t>(tex, uv, mask, mask_scale, bg, out);
  else
    dispatch1<float>(tex, uv, mask, mask_scale, bg, out);
}

}  // namespace

void register_uv_lookup(py::module_& m) {
  m.def("uv_lookup", &lookup, py::arg("texture"), py::arg("uv"), py::arg("mask"),
        py::arg("mask_scale"), py::arg("background"), py::arg("out"),
        "Re-texture: bilinear lookup of texture [Ht, Wt, 4] at uv [H, W, 2] (float32, or "
        "uint16 / 65535), composited by mask [H, W] (bool/uint8 times mask_scale, or float32) "
        "over background [H, W, 3] into out [H, W, 3], or with background None into a "
        "straight-alpha out [H, W, 4]. Texture, background and out: all uint8 or all float32.");
}

}  // namespace billow
