// What the CPU (.cpp) and CUDA (.cu) kernels share. Each feature's header holds its arithmetic
// as BILLOW_HD inline functions, the layout of NVIDIA Warp's native code: the .cpp runs them in
// OpenMP loops, the .cu in one thread per sample, so the two versions cannot drift apart.
#pragma once

#if defined(__CUDACC__)
#define BILLOW_HD __host__ __device__ inline
#else
#define BILLOW_HD inline
#endif

namespace billow {

// std::min and std::max's exact rule (the second argument only when strictly smaller / larger),
// callable on the device too.
template <class T>
BILLOW_HD T bmin(T a, T b) {
  return b < a ? b : a;
}
template <class T>
BILLOW_HD T bmax(T a, T b) {
  return a < b ? b : a;
}

}  // namespace billow
