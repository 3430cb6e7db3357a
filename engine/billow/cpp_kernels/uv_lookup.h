// Re-texturing: one bilinear texture lookup per pixel through its UV coordinates, composited
// over a background plate (dissertation Sec. 5.4: the runtime of a temporalUV sequence). The
// per-pixel addressing shared by uv_lookup.cpp (OpenMP, SSE/AVX2) and uv_lookup.cu (CUDA); the
// pure-torch reference with the same arithmetic is billow/uv/lookup.py (backend="torch").
//
// Layout (billow/uv/atlas.py): global uv in [0, 1], v up; a texture of Ht x Wt texels has
// texel centres at u = (x + .5) / Wt, v = 1 - (y + .5) / Ht, so uv is sampled at the continuous
// texel position x = u Wt - .5, y = (1 - v) Ht - .5, clamped to the texture (clamp-to-edge),
// with bilinear weights: the same lookup as billow.uv.warp.sample (Eq. 5.2).
//
// Element types: texture, background and output are all uint8 (0..255, the runtime) or all
// float32 (0..1, for parity tests); uv is float32 or uint16 (u16 / 65535, half the memory
// traffic); mask is uint8 (bool 0/1 or coverage 0..255, by `mask_scale`) or float32.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace billow {
namespace uvl {

// A texel position along one axis of n texels: the two neighbours and the weight of the
// second, clamped so that positions outside the texture repeat its edge texels.
struct Axis {
  int i0, i1;
  float f;
};

BILLOW_HD Axis axis(float g, int n) {
  if (n <= 1) return {0, 0, 0.f};
  g = g > 0.f ? g : 0.f;  // written so that NaN becomes 0: never an index outside the texture
  g = g < float(n - 1) ? g : float(n - 1);
  int i0 = bmin(int(g), n - 2);  // g >= 0, so int() is floor
  return {i0, i0 + 1, g - float(i0)};
}

// The two axes of the texel lookup of (u, v) in a texture of th x tw texels.
struct Texel {
  Axis x, y;
};

BILLOW_HD Texel texel(float u, float v, int tw, int th) {
  return {axis(u * float(tw) - 0.5f, tw), axis((1.f - v) * float(th) - 0.5f, th)};
}

BILLOW_HD float uv_value(float q) { return q; }
BILLOW_HD float uv_value(uint16_t q) { return float(q) / 65535.f; }

BILLOW_HD float mask_value(uint8_t m, float scale) { return float(m) * scale; }
BILLOW_HD float mask_value(float m, float) { return m; }

}  // namespace uvl
}  // namespace billow
