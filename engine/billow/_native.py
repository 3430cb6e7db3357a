"""The one module that owns the optional native builds (STYLE.md rule 3).

`billow._kernels` (C++/OpenMP) is built by the package install; `native_available()` says
whether it is there. The CUDA kernels are built on first use; `cuda_kernels_available()` says
whether they can run here (it is about the kernels, not just a visible GPU:
`torch.cuda.is_available()` says that). Engine wrappers ask `kernels()` / `cuda_kernels()` and
offer `backend="native" | "torch"`; a missing build is reported with how to fix it, never hidden.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from types import ModuleType

from .errors import MissingDependencyError


@functools.lru_cache(maxsize=1)
def kernels() -> ModuleType:
    try:
        from . import _kernels
    except ImportError as e:
        raise MissingDependencyError(
            "billow's native kernels are not built (billow._kernels missing); reinstall with "
            "`pip install -e .` from the repository root (needs a C++17 compiler), or pass "
            f"backend='torch' ({e})") from e
    return _kernels


def native_available() -> bool:
    try:
        kernels()
    except MissingDependencyError:
        return False
    return True


# CUDA kernels are compiled on first use, so that a CPU-only install never needs a CUDA
# toolkit. Their sources ship inside the package (billow/cpp_kernels/, package data), so a
# regular install builds them as well as a checkout does.
_CUDA_SOURCES = ("cuda_module.cu", "sim_advect.cu", "sim_pressure.cu", "uv_lookup.cu")


def cuda_sources() -> list[Path]:
    """The CUDA sources (and, beside them, the headers they share with the CPU build)."""
    root = Path(str(resources.files("billow") / "cpp_kernels"))
    return [root / s for s in _CUDA_SOURCES]


@functools.lru_cache(maxsize=1)
def cuda_kernels() -> ModuleType:
    """The CUDA module, built with torch.utils.cpp_extension on first call; raises a
    MissingDependencyError that says what is missing (a CUDA torch, a GPU, nvcc, sources)."""
    import torch

    if not torch.cuda.is_available():
        raise MissingDependencyError("billow's CUDA kernels need a CUDA build of torch and a GPU "
                                     f"(torch {torch.__version__}, no CUDA device visible)")
    from torch.utils import cpp_extension

    if cpp_extension.CUDA_HOME is None:
        raise MissingDependencyError("billow's CUDA kernels need the CUDA toolkit (nvcc); set "
                                     "CUDA_HOME or install it, or use the CPU kernels")
    sources = cuda_sources()
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        raise MissingDependencyError(f"CUDA kernel sources not found ({', '.join(missing)}); "
                                     "reinstall billow")
    try:
        return cpp_extension.load(name="billow_cuda_kernels", sources=[str(s) for s in sources],
                                  extra_include_paths=[str(sources[0].parent)],
                                  extra_cuda_cflags=["-O3"], verbose=False)
    except (RuntimeError, OSError) as e:
        raise MissingDependencyError(f"building billow's CUDA kernels failed: {e}") from e


def cuda_kernels_available() -> bool:
    """True when the CUDA kernels are loaded, or can be built now (a CUDA torch, a GPU and
    nvcc are there); the first call may compile them."""
    try:
        cuda_kernels()
    except MissingDependencyError:
        return False
    return True
