"""billow: temporally coherent neural smoke upres (tempoGAN) and temporalUV re-texturing.

Importing `billow` is cheap: heavy modules (torch, OpenVDB) load on first use.
"""

import os

# OpenMP threads that spin while idle make the native kernels several times slower on shared
# machines (measured: 0.93 vs 0.14 s per 64^3 solver step). Only a default, and only effective
# when billow is imported before torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._version import __version__
from .errors import BillowError, InputError, MissingDependencyError, OutputError
from .io import (
    FramePattern,
    ReadOptions,
    SmokeFrame,
    Volume,
    list_grids,
    read_grid,
    read_smoke_frame,
    resolve_frames,
    upres_matrix,
    write_smoke_frame,
    write_vdb,
)

__all__ = [
    "BillowError", "FramePattern", "InputError", "MissingDependencyError", "OutputError",
    "ReadOptions", "SmokeFrame", "Volume", "__version__", "list_grids", "read_grid",
    "read_smoke_frame", "resolve_frames", "upres_matrix", "write_smoke_frame", "write_vdb",
]
