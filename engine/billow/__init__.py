"""billow: temporally coherent neural smoke upres (tempoGAN) and temporalUV re-texturing.

The public API, importable from `billow` itself:

- smoke upres: `upres_sequence(jobs, backend, card, UpresConfig(), ReadOptions())` with
  `load_card`, `make_backend`, `default_model`, and `input_output_frames` for the jobs;
- training: `Trainer(RunConfig, run_folder, data_path=...)`, `resolve` for presets;
- baselines: `make_baseline(name, factor)` over `BASELINES` (nearest, trilinear, tricubic,
  wavelet), each `.step(density, velocity)`;
- temporalUV: `UVModel.load(path).predict(uv, mask)`, `preprocess` (extend, optimise,
  relocate) and `retexture_sequence`;
- VDB and frame-sequence I/O and the errors (`BillowError`: `InputError`, `OutputError`, ...).

Importing `billow` is cheap: heavy modules (torch, OpenVDB, ONNX Runtime) load on first use
of a name that needs them (PEP 562).
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

# name -> the module it is taken from, imported on first access
_LAZY = {
    "upres_sequence": "infer.runner", "UpresConfig": "infer.config", "load_card": "infer",
    "make_backend": "infer.backends", "default_model": "infer.models",
    "input_output_frames": "io.jobs",
    "Trainer": "train.trainer", "RunConfig": "train.config", "resolve": "train.config",
    "make_baseline": "baselines", "BASELINES": "baselines",
    "UVModel": "uv.model", "preprocess": "uv.preprocess", "retexture_sequence": "uv.retexture",
}
_RENAMED = {"BASELINES": "METHODS"}  # public name -> the name in its module

__all__ = [
    "BillowError", "FramePattern", "InputError", "MissingDependencyError", "OutputError",
    "ReadOptions", "SmokeFrame", "Volume", "__version__", "list_grids", "read_grid",
    "read_smoke_frame", "resolve_frames", "upres_matrix", "write_smoke_frame", "write_vdb",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__),
                        _RENAMED.get(name, name))
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
