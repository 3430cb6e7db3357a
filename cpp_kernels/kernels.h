// Registration hooks of the native features; each <feature>.cpp defines its register_<feature>.
#pragma once
#include <pybind11/pybind11.h>

namespace billow {
// Defined in registry.cpp: calls every feature's register function.
void register_all(pybind11::module_& m);
}  // namespace billow
