"""Model cards: the JSON beside every ONNX model that says how to feed it (DESIGN.md, Models).

Example (`models/smoke3d_x4.json` beside `models/smoke3d_x4.onnx`):

    {"format": "billow-model/1", "name": "smoke3d_x4", "dim": 3, "scale": 4, "halo": 6,
     "inputs": ["density", "vel.x", "vel.y", "vel.z"],
     "normalisation": {"density": 1.0, "velocity": 1.0}, "output_scale": 1.0,
     "up_axis": "y", "velocity_units": "low-res cells per frame",
     "training": {...}, "evaluation": {...}}

`inputs` lists the channels in order; `normalisation` multiplies them before the network and
`output_scale` multiplies its density output; `halo` is the receptive radius in input cells,
which makes tiled inference seam-free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

FORMAT = "billow-model/1"
KNOWN_CHANNELS = ("density", "vel.x", "vel.y", "vel.z", "vort.x", "vort.y", "vort.z")


@dataclass(frozen=True)
class ModelCard:
    name: str
    scale: int
    halo: int
    inputs: tuple[str, ...]
    dim: int = 3
    density_norm: float = 1.0
    velocity_norm: float = 1.0
    output_scale: float = 1.0
    normalise: str = "none"  # "frame": whole-frame input normalisation (billow.ops.normalise)
    up_axis: str = "y"
    bytes_per_output_voxel: float = 256.0  # working memory estimate for --max-memory
    status: str = "release"  # "preview": works end to end but is not yet good; says so on use
    path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def needs_velocity(self) -> bool:
        return any(c.startswith(("vel.", "vort.")) for c in self.inputs)

    def describe(self) -> str:
        return (f"{self.name} (x{self.scale}, {self.dim}D, inputs {', '.join(self.inputs)}, "
                f"halo {self.halo})")


def card_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def read_card(model_path: str | Path, kind: str) -> dict:
    """The raw JSON card beside `model_path`, checked to be a billow card of `kind` ("smoke",
    the default when a card names none, or "uv"); one line naming the file otherwise."""
    model_path = Path(model_path)
    path = card_path(model_path)
    if not model_path.exists():
        raise InputError(f"{model_path}: no such model file")
    if not path.exists():
        raise InputError(f"{model_path}: model card {path.name} is missing beside it")
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: cannot read model card ({e})") from e
    if raw.get("format") != FORMAT:
        raise InputError(f"{path}: not a billow model card (format {raw.get('format')!r}, "
                         f"expected {FORMAT!r})")
    found = raw.get("kind", "smoke")
    if found != kind:
        use = "upres" if found == "smoke" else found
        names = {"smoke": "smoke upres", "uv": "UV"}
        raise InputError(f"{model_path}: a {found} model, not a {names.get(kind, kind)} model "
                         f"(use it with `billow {use} ...`)")
    return raw


def load_card(model_path: str | Path) -> ModelCard:
    model_path = Path(model_path)
    path = card_path(model_path)
    raw = read_card(model_path, "smoke")
    try:
        inputs = tuple(raw["inputs"])
        norm = raw.get("normalisation", {})
        card = ModelCard(
            name=str(raw["name"]), scale=int(raw["scale"]), halo=int(raw["halo"]),
            inputs=inputs, dim=int(raw.get("dim", 3)),
            density_norm=float(norm.get("density", 1.0)),
            velocity_norm=float(norm.get("velocity", 1.0)),
            output_scale=float(raw.get("output_scale", 1.0)),
            normalise=str(raw.get("normalise", "none")),
            up_axis=str(raw.get("up_axis", "y")),
            bytes_per_output_voxel=float(raw.get("bytes_per_output_voxel", 256.0)),
            status=str(raw.get("status", "release")),
            path=model_path, extra=raw,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: model card is missing or has a bad field ({e})") from e
    unknown = [c for c in inputs if c not in KNOWN_CHANNELS]
    if unknown or not inputs or inputs[0] != "density":
        raise InputError(f"{path}: inputs {list(inputs)} must start with 'density' and use only "
                         f"{', '.join(KNOWN_CHANNELS)}")
    if card.normalise not in ("none", "frame"):
        raise InputError(f"{path}: normalise {card.normalise!r} must be 'none' or 'frame'")
    if card.scale < 2 or card.halo < 0:
        raise InputError(f"{path}: scale must be >= 2 and halo >= 0")
    return card
