"""What a UV training run will do, decided before it starts: a new run (field defaults <-
preset <- explicit settings) or a resumed one (its checkpoint's net, train config and data;
only `RESUMABLE` fields may change). `billow uv train` is a thin adapter over `plan_run`.

Note for the run-machinery merge (issue 19, item 1): this is the UV side's preset/resume
planning; `billow.train.plan` is the smoke side's. When both trainers share one run home, the
resume rule (checkpoint config + RESUMABLE overrides) belongs there once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import InputError

RESUMABLE = {"iterations", "log_every", "checkpoint_every", "keep_at", "threads",
             "tensorboard"}
DATA = ("raw", "target", "rgb", "texture", "mask")  # the clip's files; mask is optional


def sections():
    """The config sections a run's flags fill: network, training."""
    from .nets import UVNetConfig
    from .training import UVTrainConfig

    return UVNetConfig, UVTrainConfig


def given_fields(values: dict, cls) -> dict:
    """The fields of `cls` set in `values` (None: not given)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names and v is not None}


def plan_run(out, given: dict, data: dict, frames: str | None, preset: str | None,
             resume: bool = False):
    """(net config, train config, data files, frames) of a new run in `out` or of resuming the
    one there. `given`: the settings set explicitly; `data`: the files named (`DATA` keys,
    None when not given: a resumed run takes them from its checkpoint)."""
    from .training import PRESETS, UVTrainConfig, load_checkpoint

    net_cls, train_cls = sections()
    net_given, train_given = given_fields(given, net_cls), given_fields(given, train_cls)
    out = Path(out)
    if resume:
        ckpt = load_checkpoint(out)
        bad = sorted((set(train_given) - RESUMABLE) | set(net_given))
        if bad or preset:
            raise InputError(f"--resume keeps the run's config; cannot change "
                             f"{', '.join(bad) or '--preset'}")
        train = dataclasses.replace(UVTrainConfig(**ckpt["train"]), **train_given)
        src = ckpt.get("data", {})
        files = {k: data.get(k) or src.get(k) for k in DATA}
        frames = frames or ",".join(str(f) for f in src.get("frames", [])) or None
        return net_cls(**ckpt["net"]), train, files, frames
    if (out / "checkpoint.pt").exists():
        raise InputError(f"{out}: already holds a training run; pass --resume to continue it "
                         "or choose a new --out")
    missing = [f"--{k}" for k in DATA[:4] if not data.get(k)]
    if missing:
        raise InputError(f"{', '.join(missing)} required")
    chosen = PRESETS[preset] if preset else {}
    net_fields = {f.name for f in dataclasses.fields(net_cls)}
    train = UVTrainConfig(**{**{k: v for k, v in chosen.items() if k not in net_fields},
                             **train_given})
    train.validate()
    net = net_cls(**{**{k: v for k, v in chosen.items() if k in net_fields}, **net_given})
    return net, train, {k: data.get(k) for k in DATA}, frames
