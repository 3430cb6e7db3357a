// Re-texturing: one bilinear texture lookup per pixel through its UV coordinates, composited
// over a background plate (dissertation Sec. 5.4: the runtime of a temporalUV sequence).
#pragma once
#include <pybind11/pybind11.h>

namespace billow {
void register_uv_lookup(pybind11::module_& m);
}  // namespace billow
