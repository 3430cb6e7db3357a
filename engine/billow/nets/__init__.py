"""Networks of tempoGAN (dissertation ch. 3) and the reverse-pass regulariser (ch. 4)."""

from .advection import AdvectionLayer, crop
from .discriminators import SpatialDiscriminator, TemporalDiscriminator
from .fields import voxel_shuffle
from .generators import (
    FACTOR,
    FastGenerator,
    GeneratorConfig,
    PaperGenerator,
    count_parameters,
    generator_from_kwargs,
)
from .registry import build_generator
from .reverse import ReversePass, conv_transpose

__all__ = [
    "FACTOR", "AdvectionLayer", "FastGenerator", "GeneratorConfig", "PaperGenerator",
    "ReversePass", "SpatialDiscriminator", "TemporalDiscriminator", "build_generator",
    "conv_transpose", "count_parameters", "crop", "generator_from_kwargs", "voxel_shuffle",
]
