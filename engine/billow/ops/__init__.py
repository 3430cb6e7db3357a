"""Small differentiable operators shared by training, metrics and inference."""

from .advect import advect

__all__ = ["advect"]
