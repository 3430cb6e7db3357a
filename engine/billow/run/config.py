"""The fields every training run has, declared once (`RunSettings`), and `defaults` for a
product's config to give them its own defaults and help while keeping one declaration.

    @dataclasses.dataclass(frozen=True)
    @defaults(iterations=150000, batch=8, help={"iterations": "generator steps in all"})
    class UVTrainConfig(RunSettings): ...

The shared fields come first in every config (dataclass inheritance), so in the saved
config.json and the command-line help too.
"""

from __future__ import annotations

import dataclasses

from ..config import option


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Fields shared by every training run."""

    iterations: int = option(40000, "training iterations")
    batch: int = option(16, "samples per mini batch")
    lr: float = option(2e-4, "Adam learning rate")
    beta1: float = option(0.5, "Adam beta1")
    seed: int = option(0, "random seed (runs are deterministic on CPU for a seed)")
    log_every: int = option(50, "log losses every N iterations")
    checkpoint_every: int = option(1000, "write the checkpoint every N iterations")
    threads: int = option(0, "CPU threads for torch (0: torch's default)")
    tensorboard: str = option("auto", "TensorBoard logging: auto (if installed), on, off",
                              choices=("auto", "on", "off"))


def defaults(help: dict | None = None, **values):
    """Class decorator (below `@dataclass`): re-state `RunSettings` fields with other defaults
    (and, in `help`, other help texts), keeping their choices and their place."""
    help = help or {}

    def wrap(cls):
        base = {f.name: f for f in dataclasses.fields(RunSettings)}
        own = cls.__dict__.get("__annotations__")
        if own is None:
            own = {}
            cls.__annotations__ = own
        for name in sorted(set(values) | set(help)):
            f = base[name]  # only shared fields can be re-stated
            setattr(cls, name, option(values.get(name, f.default),
                                      help.get(name, f.metadata["help"]),
                                      choices=f.metadata.get("choices")))
            own[name] = f.type
        return cls

    return wrap
