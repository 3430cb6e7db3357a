"""Where shipped models live: `$BILLOW_MODELS`, else inside the package (`billow/models/`,
package data), so a regular `pip install` finds them as a checkout does."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from ..errors import InputError

DEFAULT_3D = "smoke3d_x4.onnx"


def models_dir() -> Path:
    env = os.environ.get("BILLOW_MODELS")
    return Path(env) if env else Path(str(resources.files("billow") / "models"))


def default_model() -> Path:
    path = models_dir() / DEFAULT_3D
    if not path.exists():
        raise InputError(f"the default model {path} is not there; pass --model PATH.onnx "
                         "(or set BILLOW_MODELS to the folder holding it)")
    return path
