"""Typed configs whose field help becomes the command-line help (STYLE.md rule 5).

A config is a dataclass whose fields are declared with `option(default, "help")`;
`add_arguments` turns them into `--flag-name` options and `from_args` builds the config back.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing


def option(default, help: str, *, choices=None, flag: str | None = None):
    return dataclasses.field(default=default,
                             metadata={"help": help, "choices": choices, "flag": flag})


def _flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _base_type(tp):
    if isinstance(tp, str):
        tp = eval(tp, vars(typing), {})  # annotations are strings under `from __future__`
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return args[0]
    return tp


def add_arguments(parser: argparse.ArgumentParser, cls, *, skip=(), title: str | None = None):
    group = parser.add_argument_group(title or cls.__name__)
    for f in dataclasses.fields(cls):
        if f.name in skip or "help" not in f.metadata:
            continue
        tp = _base_type(f.type)
        default = f.default
        # option help is prose ("3-10% closer"); argparse would read its "%" as a format spec
        text = f.metadata["help"].replace("%", "%%")
        if tp is bool:
            group.add_argument(_flag(f), dest=f.name, default=default,
                               action=argparse.BooleanOptionalAction, help=text)
            continue
        shown = "" if default is None else f" (default: {default})"
        group.add_argument(_flag(f), dest=f.name, type=tp, default=default,
                           choices=f.metadata.get("choices"), help=text + shown)
    return group


def from_args(cls, args: argparse.Namespace, **overrides):
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
              if hasattr(args, f.name)}
    values.update(overrides)
    return cls(**values)
