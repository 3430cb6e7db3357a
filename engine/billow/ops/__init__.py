"""Field operators shared by training, metrics, inference and the solver: advection,
down- and upsampling, curl, normalisation, and N-D tiling with a halo (`billow.ops.tiling`)."""

from .advect import advect
from .backproject import block_means, project_block_means, project_block_ratios
from .curl import central_difference, curl
from .downsample import downsample, downsample_region, downsample_velocity, gaussian_blur
from .upsample import (
    interpolate_cubic,
    interpolate_linear,
    interpolate_nearest,
    interpolate_smooth,
    interpolate_velocity,
    upsample,
    upsample_velocity,
)

__all__ = [
    "advect",
    "block_means",
    "central_difference",
    "curl",
    "downsample",
    "downsample_region",
    "downsample_velocity",
    "gaussian_blur",
    "interpolate_cubic",
    "interpolate_linear",
    "interpolate_nearest",
    "interpolate_smooth",
    "interpolate_velocity",
    "project_block_means",
    "project_block_ratios",
    "upsample",
    "upsample_velocity",
]
