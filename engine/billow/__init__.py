"""billow: temporally coherent neural smoke upres (tempoGAN) and temporalUV re-texturing.

Importing `billow` is cheap: heavy modules (torch, OpenVDB) load on first use.
"""

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
