"""Tiled, sparse super-resolution of smoke caches with ONNX Runtime or torch."""

from .backends import OnnxBackend, TorchBackend, make_backend
from .card import ModelCard, load_card
from .runner import upres_sequence
from .upres import UpresConfig, upres_frame

__all__ = ["ModelCard", "OnnxBackend", "TorchBackend", "UpresConfig", "load_card",
           "make_backend", "upres_frame", "upres_sequence"]
