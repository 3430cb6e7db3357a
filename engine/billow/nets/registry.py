"""The network architectures a model card may name: billow's own generators, looked up by name.

A card is data, never code. Its `torch` entry names a factory and the architecture's fields:

    {"module": "billow.nets.generators:generator_from_kwargs",
     "kwargs": {"generator": "fast", "dim": 3, ...}, "weights": "smoke3d_x4.pt"}

`module` is only compared with the names in `FACTORIES` (nothing from a card is imported), and
`kwargs` must be fields of `GeneratorConfig` with values of the field's type, its `generator`
one of `architectures()`. `GENERATORS` is the one registry, architecture name -> class: a new
generator is added with `register(name=Class)` beside its class (`billow.nets.generators`), and
`GeneratorConfig.generator`'s choices, the cards' allow-list, `build_generator` and training
all read it, so none of them can lag behind the code.
"""

from __future__ import annotations

import dataclasses
import typing

from ..errors import InputError

# card spelling -> what it builds; the spelling `billow export` writes into every card
FACTORIES = ("billow.nets.generators:generator_from_kwargs",)

GENERATORS: dict[str, type] = {}  # architecture name -> generator class, in registration order


def register(**classes: type) -> None:
    """Add generator classes under their architecture names (each taking a GeneratorConfig)."""
    for name, cls in classes.items():
        if name in GENERATORS and GENERATORS[name] is not cls:
            raise ValueError(f"generator architecture {name!r} is registered twice")
        GENERATORS[name] = cls


def _config_class():
    from .generators import GeneratorConfig  # registers billow's generators

    return GeneratorConfig


def architectures() -> tuple[str, ...]:
    """Names of billow's generator architectures (the registry)."""
    _config_class()
    return tuple(GENERATORS)


def generator_class(name: str) -> type:
    """The generator class registered as `name`, or one line naming the architectures."""
    if name not in architectures():
        raise InputError(f"generator '{name}' is not one of billow's architectures "
                         f"({', '.join(GENERATORS)})")
    return GENERATORS[name]


def build_generator(cfg):
    """The untrained generator `cfg` (a GeneratorConfig) describes, by its architecture name."""
    return generator_class(cfg.generator)(cfg)


def _check_value(name: str, value, annotation, where: str) -> None:
    tp = eval(annotation, vars(typing), {}) if isinstance(annotation, str) else annotation
    allowed = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}.get(tp)
    if allowed is None:
        return
    ok = isinstance(value, allowed) and (tp is bool or not isinstance(value, bool))
    if not ok:
        raise InputError(f"{where}: torch.kwargs.{name} = {value!r} is not a {tp.__name__}")


def generator_config(kwargs, where: str):
    """The `GeneratorConfig` a card describes, checked field by field."""
    cls = _config_class()
    if not isinstance(kwargs, dict):
        raise InputError(f"{where}: torch.kwargs must be an object of architecture fields")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(kwargs) - set(fields))
    if unknown:
        raise InputError(f"{where}: torch.kwargs has unknown field(s) {', '.join(unknown)} "
                         f"(known: {', '.join(fields)})")
    for key, value in kwargs.items():
        _check_value(key, value, fields[key].type, where)
    name = kwargs.get("generator", fields["generator"].default)
    if name not in architectures():
        raise InputError(f"{where}: generator '{name}' is not one of billow's architectures "
                         f"({', '.join(architectures())})")
    for key in ("width", "blocks", "mid_channels"):
        if key in kwargs and not 1 <= kwargs[key] <= 1024:
            raise InputError(f"{where}: torch.kwargs.{key} = {kwargs[key]} is out of range")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise InputError(f"{where}: bad architecture fields ({e})") from e


def build_from_card(spec, where: str):
    """The untrained torch network of a card's `torch` entry (weights are loaded by the
    caller), refusing anything but billow's own architectures."""
    if not isinstance(spec, dict):
        raise InputError(f"{where}: the card's 'torch' entry must be an object")
    factory = spec.get("module")
    if factory not in FACTORIES:
        raise InputError(f"{where}: torch.module {factory!r} is not one of billow's "
                         f"architectures; a card names data, never code (allowed: "
                         f"{', '.join(FACTORIES)})")
    return build_generator(generator_config(spec.get("kwargs", {}), where))
