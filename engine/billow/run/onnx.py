"""ONNX for both products: export a trained torch network, check that ONNX Runtime computes
what torch computes (the parity every model card records), and the ONNX Runtime session every
exported model runs in (CPU, or CUDA when asked for: never a silent fall-back)."""

from __future__ import annotations

import hashlib
import math
import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError, MissingDependencyError, shorten
from ..io.atomic import atomic_path

OPSET = 17


def export(module: torch.nn.Module, path: str | Path, example: tuple, inputs: list[str],
           outputs: list[str], dynamic_axes: dict) -> None:
    """`module` (in eval mode) to the ONNX file `path`, written atomically."""
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(module, example, str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=inputs, output_names=outputs, dynamic_axes=dynamic_axes)


def _ort(purpose: str):
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise MissingDependencyError(f"onnxruntime is needed {purpose}: pip install "
                                     "onnxruntime (or onnxruntime-gpu for CUDA)") from e
    return ort


def session(path: str | Path, device: str = "cpu", threads: int = 0):
    """An ONNX Runtime session of the model at `path` on `device` ("cpu" or "cuda") with
    `threads` intra-op threads (0: ONNX Runtime's default)."""
    ort = _ort("to run an .onnx model")
    available = ort.get_available_providers()
    if device == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise InputError("--device cuda: onnxruntime has no CUDA provider here "
                             f"(available: {', '.join(available)}); install "
                             "onnxruntime-gpu on a machine with an NVIDIA GPU")
        providers = ["CUDAExecutionProvider"]
    else:
        providers = ["CPUExecutionProvider"]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as e:  # ORT raises its own exception types for corrupt files
        raise InputError(f"{path}: cannot load ONNX model ({shorten(e)})") from e


def parity(module: torch.nn.Module, path: str | Path, inputs: dict[str, np.ndarray],
           outputs: list[str] | None = None) -> float:
    """Largest over the outputs of max |torch - onnxruntime| / max |torch|, on `inputs` (the
    ONNX input names and their arrays, in the order the module takes them)."""
    _ort("to check the export")
    with torch.no_grad():
        ref = module(*(torch.from_numpy(x) for x in inputs.values()))
    ref = [r.numpy() for r in (ref if isinstance(ref, tuple | list) else (ref,))]
    got = session(path).run(outputs, inputs)
    err = 0.0
    for a, b in zip(got, ref):
        if a.shape != b.shape:
            raise InputError(f"{path}: ONNX output shape {a.shape}, torch {b.shape}")
        err = max(err, float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)))
    return err


def check_parity(err: float, path: str | Path, tolerance: float = 1e-4) -> float:
    """An export that ONNX Runtime does not reproduce is refused."""
    if err > tolerance:
        raise InputError(f"{path}: ONNX Runtime disagrees with torch (relative error "
                         f"{err:.2e})")
    return err


def export_core(module: torch.nn.Module, path: str | Path, halo: int, scale: int, full,
                channels: int, dim: int, device: str = "cpu", threads: int = 0,
                core: int = 5, seed: int = 20):
    """Export `module`, a network's core-only pass for windows with `halo` low-res cells of
    neighbours, to `path`, and check it against `full` (the padded network: window -> its
    whole output) on one random window of `core` cells plus the halo (big enough to see every
    stage, cheap to run twice). Returns (its ONNX Runtime session on `device`, the largest
    difference from the middle of `full`'s output over that output's maximum; inf when the
    shapes differ). The one export of core-only graphs: `billow export` writes one beside the
    model, `billow upres` builds one for a model that ships none."""
    x = np.random.default_rng(seed).random((1, channels) + (2 * halo + core,) * dim,
                                           ).astype(np.float32)
    x[:, 1:] = (x[:, 1:] - 0.5) * 0.5  # velocities of either sign
    axes = {0: "N", **{2 + d: "XYZ"[d] for d in range(dim)}}
    export(module, path, (torch.from_numpy(x),), ["input"], ["density"],
           {"input": axes, "density": axes})
    run = session(path, device, threads)
    want = full(x)
    want = want[(slice(None),) * 2 + tuple(slice(scale * halo, n - scale * halo)
                                           for n in want.shape[2:])]
    got = run.run(None, {"input": x})[0]
    if got.shape != want.shape:
        return run, math.inf
    return run, float(np.abs(got - want).max() / max(float(np.abs(want).max()), 1e-12))


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (a model card names its core-only graph by it)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
