"""Preset and resume planning for both trainers, and the presets themselves (one home).

Settings resolve in one order everywhere: field defaults <- `--preset` <- explicit flags. A
config is split in sections (dataclasses: smoke's generator / augment / train, temporalUV's
net / train); a preset is one flat table of field names, each going to the section that has
it. `--resume` keeps the run's config: only the fields a product names resumable may change.
"""

from __future__ import annotations

import dataclasses

from ..errors import InputError

# Per-element feature weights equivalent to the paper's (App. A.2: -1e-5 for all layers in 2D,
# -1e-6/3 in 3D, on sum/2 over a sample's activations of D_s layers with 64^D tiles), converted
# with billow.train.losses.paper_lambda_f: layer sizes 32^D x 32, 16^D x 64, 8^D x 128, 8^D x 256.
PAPER_LAMBDA_F_2D = "-0.16384,-0.08192,-0.04096,-0.08192"
PAPER_LAMBDA_F_3D = "-0.174763,-0.043691,-0.010923,-0.021845"

# `billow train` (tempoGAN smoke upres)
SMOKE_PRESETS: dict[str, dict] = {
    # App. A.2 standard 2D model: 40k iterations, batch 16, 16^2 -> 64^2 tiles, 2/2/2 updates
    "paper-2d": {"generator": "paper", "dim": 2, "iterations": 40000, "batch": 16, "tile": 16,
                 "k_ds": 2, "k_dt": 2, "k_g": 2, "d_norm": "bn",
                 "lambda_f": PAPER_LAMBDA_F_2D},
    # App. A.2 standard 3D model: 7k iterations, batch 1, 16^3 -> 64^3 tiles, 16/16/16 updates
    "paper-3d": {"generator": "paper", "dim": 3, "iterations": 7000, "batch": 1, "tile": 16,
                 "k_ds": 16, "k_dt": 16, "k_g": 16, "d_norm": "bn",
                 "lambda_f": PAPER_LAMBDA_F_3D},
    # shipped models: low-res trunk generator, spectral-norm discriminators, faster D (TTUR)
    "fast-2d": {"generator": "fast", "dim": 2, "iterations": 40000, "batch": 16, "tile": 16,
                "k_ds": 1, "k_dt": 1, "k_g": 1, "d_norm": "sn", "d_lr_scale": 2.0,
                "lambda_f": PAPER_LAMBDA_F_2D},
    "fast-3d": {"generator": "fast", "dim": 3, "iterations": 20000, "batch": 4, "tile": 16,
                "k_ds": 1, "k_dt": 1, "k_g": 1, "d_norm": "sn", "d_lr_scale": 2.0,
                "lambda_f": PAPER_LAMBDA_F_3D},
    # the shipped 3D model since issue 17: resize-convolution up-sampling (no lattice),
    # whole-frame normalisation (any density amplitude and speed), both low-res derivations
    "smooth-3d": {"generator": "smooth", "dim": 3, "width": 32, "blocks": 3,
                  "mid_channels": 16, "fine_channels": 8, "normalise": "frame",
                  "iterations": 100000, "batch": 4, "tile": 8, "k_ds": 1, "k_dt": 1, "k_g": 1,
                  "d_norm": "sn", "d_lr_scale": 2.0, "lambda_f": "0", "box_input": 0.5,
                  "loss_scale": "tile"},
    # a few minutes on a laptop CPU: small trunk, small tiles
    "cpu-small": {"generator": "fast", "dim": 2, "width": 32, "blocks": 2, "mid_channels": 8,
                  "iterations": 2000, "batch": 8, "tile": 8, "k_ds": 1, "k_dt": 1, "k_g": 1,
                  "d_norm": "sn", "d_lr_scale": 2.0, "lambda_f": "-0.05", "log_every": 20,
                  "val_every": 200, "sample_every": 500, "checkpoint_every": 200,
                  "chance_window": 300},
}

# `billow uv train` (temporalUV). "cpu", the shipped model: a small generator (4 blocks, 8-32
# channels), the dissertation's weights and their overall drift (150 updates) over 1/125 of its
# steps, 64-pixel crops instead of 32 so that a crop inside the garment still sees the body it
# hangs from (the garment spans ~60 px of a 256 px frame).
UV_PRESETS: dict[str, dict] = {
    "paper": {},
    "cpu": {"blocks": 4, "width": 8, "d_width": 8,
            "iterations": 1200, "pretrain": 600, "d_img_steps": 120, "batch": 4, "crop": 64,
            "weight_every": 8, "log_every": 25, "checkpoint_every": 100, "lr": 2e-4},
}


def preset(table: dict[str, dict], name: str | None) -> dict:
    """The settings of preset `name` ({} for none), or one line naming the choices."""
    if name is None:
        return {}
    if name not in table:
        raise InputError(f"--preset {name!r}: choose one of {', '.join(table)}")
    return table[name]


def explicit(values: dict, sections) -> dict:
    """The settings given on the command line: values of the sections' fields that are set
    (flags default to None so that presets can fill them)."""
    names = {f.name for cls in sections for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names and v is not None}


def layered(sections: dict[str, type], *layers: dict) -> dict[str, dict]:
    """Field values per section, later layers over earlier ones (defaults are the classes').
    A name no section has is an error: presets and flags only set fields."""
    fields = {name: {f.name for f in dataclasses.fields(cls)} for name, cls in sections.items()}
    out: dict[str, dict] = {name: {} for name in sections}
    for layer in layers:
        for key, value in layer.items():
            owner = next((n for n, names in fields.items() if key in names), None)
            if owner is None:
                raise KeyError(key)
            out[owner][key] = value
    return out


def check_resume(given: dict, resumable: set[str], preset_name: str | None) -> None:
    """`--resume` keeps the run's config: only the `resumable` fields may be given again."""
    bad = sorted(set(given) - resumable)
    if bad or preset_name:
        raise InputError(f"--resume keeps the run's config; cannot change "
                         f"{', '.join(bad) or '--preset'}")
