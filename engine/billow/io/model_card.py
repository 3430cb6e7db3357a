"""The model card format "billow-model/1": the JSON beside every ONNX model that says how to feed
it (DESIGN.md, Models). The one owner of the format: the exporters (`billow.train.export`,
`billow.uv.model`) write it with `FORMAT`, every reader goes through `read_card` / `load_card`.

Example (`billow/models/smoke3d_x4.json` beside `billow/models/smoke3d_x4.onnx`):

    {"format": "billow-model/1", "name": "smoke3d_x4", "dim": 3, "scale": 4, "halo": 6,
     "inputs": ["density", "vel.x", "vel.y", "vel.z"],
     "normalisation": {"density": 1.0, "velocity": 1.0}, "output_scale": 1.0,
     "up_axis": "y", "velocity_units": "low-res cells per frame",
     "training": {...}, "evaluation": {...}}

`inputs` lists the channels in order; `normalisation` multiplies them before the network and
`output_scale` multiplies its density output; `halo` is the receptive radius in input cells,
which makes tiled inference seam-free. Optional `core_onnx` ({"file", "sha256", "halo",
"parity_rel_error"}): the network's core-only pass for tiles with `halo` cells of neighbours,
a graph beside the model (`billow.train.export.export_core_graph`); the ONNX backend runs it
only when its bytes hash to `sha256`, else rebuilds it from the torch weights.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, shorten

FORMAT = "billow-model/1"
# "detail": the art-direction factor of gated models (`billow.nets.generators.DETAIL_CHANNEL`)
KNOWN_CHANNELS = ("density", "vel.x", "vel.y", "vel.z", "vort.x", "vort.y", "vort.z", "detail")


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

    @property
    def slider_input(self) -> bool:
        """The network takes the art-direction factor itself (its `detail` channel) rather
        than velocity scaled by it (`billow.infer.art.network_velocity`)."""
        return "detail" in self.inputs

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
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: cannot read model card ({shorten(e)})") from e
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a model card must be a JSON object, not "
                         f"{type(raw).__name__}")
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


def _field(raw: dict, key: str, kind, path, default=None, required: bool = False):
    """One card field of the JSON type(s) `kind`; null is refused, absent gives `default`."""
    value = raw.get(key)
    if key in raw and value is None:
        raise InputError(f"{path}: model card field '{key}' is null")
    if value is None:
        if required:
            raise InputError(f"{path}: model card field '{key}' is missing")
        return default
    ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in (
        kind if isinstance(kind, tuple) else (kind,)))
    if not ok:
        raise InputError(f"{path}: model card field '{key}' = {shorten(repr(value), 60)} has "
                         "the wrong type")
    return value


def expected_inputs(count: int, dim: int) -> list[str]:
    """The channel order billow's networks take: density, then velocity component d along
    axis d, then the `detail` factor of models with a speed gate (a card listing them in
    another order describes a network billow cannot feed)."""
    return (["density"] + [f"vel.{a}" for a in "xyz"[:dim]] + ["detail"])[:count]


def load_card(model_path: str | Path) -> ModelCard:
    model_path = Path(model_path)
    path = card_path(model_path)
    raw = read_card(model_path, "smoke")
    num = (int, float)
    inputs = _field(raw, "inputs", list, path, required=True)
    if not all(isinstance(c, str) for c in inputs):
        raise InputError(f"{path}: model card field 'inputs' must list channel names")
    norm = _field(raw, "normalisation", dict, path, default={})
    for key, value in norm.items():
        if not isinstance(value, num) or isinstance(value, bool) or not math.isfinite(value):
            raise InputError(f"{path}: normalisation '{key}' = {value!r} is not a number")
    card = ModelCard(
        name=str(_field(raw, "name", str, path, required=True)),
        scale=_field(raw, "scale", int, path, required=True),
        halo=_field(raw, "halo", int, path, required=True),
        inputs=tuple(inputs), dim=_field(raw, "dim", int, path, default=3),
        density_norm=float(norm.get("density", 1.0)),
        velocity_norm=float(norm.get("velocity", 1.0)),
        output_scale=float(_field(raw, "output_scale", num, path, default=1.0)),
        normalise=str(_field(raw, "normalise", str, path, default="none")),
        up_axis=str(_field(raw, "up_axis", str, path, default="y")),
        bytes_per_output_voxel=float(_field(raw, "bytes_per_output_voxel", num, path,
                                            default=256.0)),
        status=str(_field(raw, "status", str, path, default="release")),
        path=model_path, extra=raw,
    )
    unknown = [c for c in inputs if c not in KNOWN_CHANNELS]
    if unknown or not inputs or inputs[0] != "density":
        raise InputError(f"{path}: inputs {list(inputs)} must start with 'density' and use only "
                         f"{', '.join(KNOWN_CHANNELS)}")
    if card.normalise not in ("none", "frame"):
        raise InputError(f"{path}: normalise {card.normalise!r} must be 'none' or 'frame'")
    if card.dim not in (2, 3):
        raise InputError(f"{path}: dim {card.dim}: must be 2 or 3")
    if list(inputs) != expected_inputs(len(inputs), card.dim):
        raise InputError(f"{path}: inputs {list(inputs)} are not in the order billow's networks "
                         f"take them ({', '.join(expected_inputs(1 + card.dim, card.dim))})")
    if not 2 <= card.scale <= 16 or not 0 <= card.halo <= 64:
        raise InputError(f"{path}: scale must be 2..16 and halo 0..64 "
                         f"(got scale {card.scale}, halo {card.halo})")
    if not (math.isfinite(card.output_scale) and card.output_scale > 0
            and card.bytes_per_output_voxel > 0):
        raise InputError(f"{path}: output_scale and bytes_per_output_voxel must be positive")
    return card
