// Advection of cell-centred and face-centred (MAC) quantities through a staggered velocity
// field: semi-Lagrangian (dissertation Eq. 2.7) and MacCormack with clamping (Eq. 2.8). The
// arithmetic of one sample, shared by sim_advect.cpp (OpenMP) and sim_advect.cu (CUDA); the
// pure-torch reference with the same arithmetic is billow/sim/reference.py (advect).
//
// Positions are in cell units: cell (i, j, k) has its centre at (i + .5, j + .5, k + .5); the
// u face (i, j, k) sits at (i, j + .5, k + .5), v at (i + .5, j, k + .5), w at (i + .5, j + .5, k).
// A quantity stored with offset o is sampled at position p through the continuous index p - o,
// clamped to the block (values continue at the border), with trilinear weights.
#pragma once

#include "host_device.h"

namespace billow {
namespace advect {

// A float32 block [x][y][z] (z fastest) and the position offset of its samples.
struct Field {
  const float* d;
  int nx, ny, nz;
  float ox, oy, oz;
  BILLOW_HD float at(int i, int j, int k) const { return d[((long long)i * ny + j) * nz + k]; }
};

// Sample offsets of the layouts: 0 cell centre, 1 u face, 2 v face, 3 w face.
constexpr float OFFSETS[4][3] = {
    {.5f, .5f, .5f}, {0.f, .5f, .5f}, {.5f, 0.f, .5f}, {.5f, .5f, 0.f}};

struct Lerp {
  int i0, i1;
  float f;
};

BILLOW_HD Lerp axis(float g, int n) {
  if (n <= 1) return {0, 0, 0.f};
  g = bmin(bmax(g, 0.f), float(n - 1));
  int i0 = bmin(int(g), n - 2);  // g >= 0, so int() is floor
  return {i0, i0 + 1, g - float(i0)};
}

struct Stencil {
  Lerp a, b, c;
};

BILLOW_HD Stencil stencil(const Field& q, float x, float y, float z) {
  return {axis(x - q.ox, q.nx), axis(y - q.oy, q.ny), axis(z - q.oz, q.nz)};
}

BILLOW_HD float lerp(float a, float b, float f) { return a * (1.f - f) + b * f; }

BILLOW_HD float sample(const Field& q, const Stencil& s) {
  const Lerp &a = s.a, &b = s.b, &c = s.c;
  float c00 = lerp(q.at(a.i0, b.i0, c.i0), q.at(a.i0, b.i0, c.i1), c.f);
  float c01 = lerp(q.at(a.i0, b.i1, c.i0), q.at(a.i0, b.i1, c.i1), c.f);
  float c10 = lerp(q.at(a.i1, b.i0, c.i0), q.at(a.i1, b.i0, c.i1), c.f);
  float c11 = lerp(q.at(a.i1, b.i1, c.i0), q.at(a.i1, b.i1, c.i1), c.f);
  return lerp(lerp(c00, c01, b.f), lerp(c10, c11, b.f), a.f);
}

// The smallest and largest of the 8 values a sample interpolates (MacCormack's clamp).
BILLOW_HD void extrema(const Field& q, const Stencil& s, float& lo, float& hi) {
  const Lerp &a = s.a, &b = s.b, &c = s.c;
  const int is[2] = {a.i0, a.i1}, js[2] = {b.i0, b.i1}, ks[2] = {c.i0, c.i1};
  lo = hi = q.at(a.i0, b.i0, c.i0);
  for (int p = 0; p < 2; ++p)
    for (int r = 0; r < 2; ++r)
      for (int t = 0; t < 2; ++t) {
        float v = q.at(is[p], js[r], ks[t]);
        lo = bmin(lo, v);
        hi = bmax(hi, v);
      }
}

// The staggered velocity: u (X+1, Y, Z), v (X, Y+1, Z), w (X, Y, Z+1) for X x Y x Z cells.
struct Mac {
  Field u, v, w;
  int nx, ny, nz;  // cells
  BILLOW_HD float U(int i, int j, int k) const { return u.at(i, j, k); }
  BILLOW_HD float V(int i, int j, int k) const { return v.at(i, j, k); }
  BILLOW_HD float W(int i, int j, int k) const { return w.at(i, j, k); }
  // Velocity at the grid-aligned sample (i, j, k) of `layout`: the face's own value, or the
  // mean of the 2 or 4 nearest faces of the other components (what trilinear sampling gives
  // there; clamped at the domain sides).
  template <int layout>
  BILLOW_HD void at(int i, int j, int k, float& vx, float& vy, float& vz) const {
    if constexpr (layout == 0) {
      vx = 0.5f * (U(i, j, k) + U(i + 1, j, k));
      vy = 0.5f * (V(i, j, k) + V(i, j + 1, k));
      vz = 0.5f * (W(i, j, k) + W(i, j, k + 1));
    } else if constexpr (layout == 1) {
      int a = bmax(i - 1, 0), b = bmin(i, nx - 1);
      vx = U(i, j, k);
      vy = 0.25f * ((V(a, j, k) + V(a, j + 1, k)) + (V(b, j, k) + V(b, j + 1, k)));
      vz = 0.25f * ((W(a, j, k) + W(a, j, k + 1)) + (W(b, j, k) + W(b, j, k + 1)));
    } else if constexpr (layout == 2) {
      int a = bmax(j - 1, 0), b = bmin(j, ny - 1);
      vx = 0.25f * ((U(i, a, k) + U(i + 1, a, k)) + (U(i, b, k) + U(i + 1, b, k)));
      vy = V(i, j, k);
      vz = 0.25f * ((W(i, a, k) + W(i, a, k + 1)) + (W(i, b, k) + W(i, b, k + 1)));
    } else {
      int a = bmax(k - 1, 0), b = bmin(k, nz - 1);
      vx = 0.25f * ((U(i, j, a) + U(i + 1, j, a)) + (U(i, j, b) + U(i + 1, j, b)));
      vy = 0.25f * ((V(i, j, a) + V(i, j + 1, a)) + (V(i, j, b) + V(i, j + 1, b)));
      vz = W(i, j, k);
    }
  }
};

// Semi-Lagrangian (Eq. 2.7) at sample (i, j, k) of q's layout: q(x - dt vel(x)).
template <int layout>
BILLOW_HD float forward(const Field& q, const Mac& m, float dt, int i, int j, int k) {
  float vx, vy, vz;
  m.template at<layout>(i, j, k, vx, vy, vz);
  return sample(q, stencil(q, i + q.ox - dt * vx, j + q.oy - dt * vy, k + q.oz - dt * vz));
}

// MacCormack (Eq. 2.8) at sample (i, j, k), given the forward step `f` of the whole field: the
// backward step of f, half the round-trip error added back, clamped to the values the forward
// step interpolated (no new extrema). Velocity and forward stencil are recomputed (cheap)
// rather than stored.
template <int layout>
BILLOW_HD float maccormack(const Field& q, const Field& f, const Mac& m, float dt, int i, int j,
                           int k) {
  float vx, vy, vz, lo, hi;
  m.template at<layout>(i, j, k, vx, vy, vz);
  float x = i + q.ox, y = j + q.oy, z = k + q.oz;
  float bwd = sample(f, stencil(f, x + dt * vx, y + dt * vy, z + dt * vz));
  extrema(q, stencil(q, x - dt * vx, y - dt * vy, z - dt * vz), lo, hi);
  float corr = f.at(i, j, k) + 0.5f * (q.at(i, j, k) - bwd);
  return bmin(bmax(corr, lo), hi);
}

}  // namespace advect
}  // namespace billow
