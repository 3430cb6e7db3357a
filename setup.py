"""Builds the native kernels `billow._kernels` (C++17, pybind11, OpenMP) from
engine/billow/cpp_kernels/.

Every `cpp_kernels/*.cpp` is compiled into the one module. CUDA sources (`*.cu`) are not built
here: they are compiled on first use by `billow._native` when a CUDA torch and nvcc exist, so a
CPU-only install never needs a CUDA toolkit.
"""

import sys
from glob import glob

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

openmp = [] if sys.platform == "darwin" else (["/openmp"] if sys.platform == "win32" else ["-fopenmp"])
ext = Pybind11Extension(
    "billow._kernels",
    sorted(glob("engine/billow/cpp_kernels/*.cpp")),
    include_dirs=["engine/billow/cpp_kernels"],
    cxx_std=17,
    extra_compile_args=["-O3", *openmp],
    extra_link_args=[a for a in openmp if a != "/openmp"],
)
setup(ext_modules=[ext], cmdclass={"build_ext": build_ext})
