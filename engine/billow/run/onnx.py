"""ONNX for both products: export a trained torch network, check that ONNX Runtime computes
what torch computes (the parity every model card records), and the ONNX Runtime session every
exported model runs in (CPU, or CUDA when asked for: never a silent fall-back)."""

from __future__ import annotations

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
