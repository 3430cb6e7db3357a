"""The one module that owns the optional native builds (STYLE.md rule 3).

`billow._kernels` (C++/OpenMP) is built by the package install. Engine wrappers ask
`kernels()` for it and offer `backend="native" | "torch"`; a missing build is reported with
how to fix it, never hidden.
"""

from __future__ import annotations

import functools
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
