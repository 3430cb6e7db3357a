"""Small differentiable operators shared by training, metrics and inference."""

from .advect import advect
from .downsample import downsample, downsample_velocity, gaussian_blur
from .resize import upsample

__all__ = ["advect", "downsample", "downsample_velocity", "gaussian_blur", "upsample"]
