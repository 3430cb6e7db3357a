"""Where shipped models live: `$BILLOW_MODELS`, else the repository's `models/` folder."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError

DEFAULT_3D = "smoke3d_x4.onnx"


def models_dir() -> Path:
    env = os.environ.get("BILLOW_MODELS")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "models"


def default_model() -> Path:
    path = models_dir() / DEFAULT_3D
    if not path.exists():
        raise InputError(f"the default model {path} is not there; pass --model PATH.onnx "
                         "(or set BILLOW_MODELS to the folder holding it)")
    return path
