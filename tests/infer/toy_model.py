"""A tiny fully-convolutional x4 network with a known receptive radius, exported to ONNX with
a model card: the engine's tests run the real ONNX Runtime path without a trained model."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

HALO = 3  # two 3^3 convs at low res (2 cells) + one 3^3 conv at high res (1/4 cell -> 1)


class ToyUpres(nn.Module):
    def __init__(self, channels: int = 4, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.a = nn.Conv3d(channels, 6, 3, padding=1)
        self.b = nn.Conv3d(6, 6, 3, padding=1)
        self.c = nn.Conv3d(6, 1, 3, padding=1)

    def forward(self, x):
        h = torch.tanh(self.b(torch.tanh(self.a(x))))
        h = F.interpolate(h, scale_factor=4, mode="nearest")
        base = F.interpolate(x[:, :1], scale_factor=4, mode="nearest")
        return torch.relu(base + 0.1 * self.c(h))


class NearestUpres(nn.Module):
    """Exactly a nearest-neighbour x4 of the density: its output's centre of mass is the
    input's when placed correctly, which makes transform errors visible."""

    def __init__(self, channels: int = 4):
        super().__init__()

    def forward(self, x):
        return F.interpolate(x[:, :1], scale_factor=4, mode="nearest")


def export_toy(folder: Path, name: str = "toy_x4", channels: int = 4, card_channels=None,
               kind: str = "toy", **card_fields) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cls = {"toy": ToyUpres, "nearest": NearestUpres}[kind]
    net = cls(channels).eval()
    path = folder / f"{name}.onnx"
    torch.onnx.export(net, (torch.zeros(1, channels, 6, 6, 6),), str(path),
                      input_names=["x"], output_names=["y"], dynamo=False,
                      dynamic_axes={"x": {0: "n", 2: "X", 3: "Y", 4: "Z"},
                                    "y": {0: "n", 2: "X4", 3: "Y4", 4: "Z4"}})
    torch.save(net.state_dict(), folder / f"{name}.pt")
    card = {"format": "billow-model/1", "name": name, "dim": 3, "scale": 4,
            "halo": HALO if kind == "toy" else 0,
            "inputs": card_channels or ["density", "vel.x", "vel.y", "vel.z"][:channels],
            "normalisation": {"density": 1.0, "velocity": 1.0}, "output_scale": 1.0,
            "up_axis": "y",
            "torch": {"module": f"tests.infer.toy_model:{cls.__name__}",
                      "kwargs": {"channels": channels}, "weights": f"{name}.pt"},
            **card_fields}
    path.with_suffix(".json").write_text(json.dumps(card, indent=1))
    return path
