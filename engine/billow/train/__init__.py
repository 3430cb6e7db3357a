"""Training of tempoGAN models: data, physics-aware augmentation, losses, trainer, export."""

from .augment import AugmentConfig
from .config import PRESETS, RunConfig, TrainConfig, resolve
from .data import PairedData, TileSampler
from .trainer import Trainer, load_checkpoint

__all__ = ["PRESETS", "AugmentConfig", "PairedData", "RunConfig", "TileSampler", "TrainConfig",
           "Trainer", "load_checkpoint", "resolve"]
