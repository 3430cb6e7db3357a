"""Tiled, sparse super-resolution of smoke caches with ONNX Runtime or torch.

The torch-dependent parts load on first use (PEP 562), so the CLI can build its flags from
`UpresConfig` without importing torch."""

from ..io.model_card import ModelCard, load_card
from .config import PRECISIONS, UpresConfig

_LAZY = {"OnnxBackend": "backends", "TorchBackend": "backends", "make_backend": "backends",
         "upres_sequence": "runner", "upres_frame": "upres"}

__all__ = ["ModelCard", "PRECISIONS", "UpresConfig", "load_card", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
