"""The network architectures a model card may name: billow's own generators, looked up by name.

A card is data, never code. Its `torch` entry names a factory and the architecture's fields:

    {"module": "billow.nets.generators:generator_from_kwargs",
     "kwargs": {"generator": "fast", "dim": 3, ...}, "weights": "smoke3d_x4.pt"}

`module` is only compared with the names in `FACTORIES` (nothing from a card is imported), and
`kwargs` must be fields of `GeneratorConfig` with values of the field's type, its `generator`
one of `architectures()`. The architectures are the choices of `GeneratorConfig.generator`:
a new generator registers itself by adding its name there (and to `build_generator`), as it
must anyway to be trained, so the allow-list can never lag behind the code.
"""

from __future__ import annotations

import dataclasses
import typing

from ..errors import InputError

# card spelling -> what it builds; the spelling `billow export` writes into every card
FACTORIES = ("billow.nets.generators:generator_from_kwargs",)


def _config_class():
    from .generators import GeneratorConfig

    return GeneratorConfig


def architectures() -> tuple[str, ...]:
    """Names of billow's generator architectures (the registry)."""
    field = {f.name: f for f in dataclasses.fields(_config_class())}["generator"]
    return tuple(field.metadata.get("choices") or (field.default,))


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
    from .generators import build_generator

    if not isinstance(spec, dict):
        raise InputError(f"{where}: the card's 'torch' entry must be an object")
    factory = spec.get("module")
    if factory not in FACTORIES:
        raise InputError(f"{where}: torch.module {factory!r} is not one of billow's "
                         f"architectures; a card names data, never code (allowed: "
                         f"{', '.join(FACTORIES)})")
    return build_generator(generator_config(spec.get("kwargs", {}), where))
