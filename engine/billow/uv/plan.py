"""What a UV training run will do, decided before it starts: a new run (field defaults <-
preset <- explicit settings) or a resumed one (its checkpoint's net, train config and data;
only `RESUMABLE` fields may change). `billow uv train` is a thin adapter over `plan_run`.

The rules both trainers share (presets, defaults <- preset <- flags over config sections, the
resume rule, never overwriting a run) are `billow.run.plan`'s and `billow.run.folder`'s.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import InputError
from ..run import folder, plan

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
    return plan.explicit(values, (cls,))


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
        plan.check_resume({**net_given, **train_given}, RESUMABLE, preset)  # net: never
        train = dataclasses.replace(UVTrainConfig(**ckpt["train"]), **train_given)
        src = ckpt.get("data", {})
        files = {k: data.get(k) or src.get(k) for k in DATA}
        frames = frames or ",".join(str(f) for f in src.get("frames", [])) or None
        return net_cls(**ckpt["net"]), train, files, frames
    folder.refuse_existing(out)
    missing = [f"--{k}" for k in DATA[:4] if not data.get(k)]
    if missing:
        raise InputError(f"{', '.join(missing)} required")
    values = plan.layered({"net": net_cls, "train": train_cls}, plan.preset(PRESETS, preset),
                          {**net_given, **train_given})
    train = UVTrainConfig(**values["train"])
    train.validate()
    net = net_cls(**values["net"])
    return net, train, {k: data.get(k) for k in DATA}, frames
