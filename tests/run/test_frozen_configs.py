"""Every config dataclass in the engine is frozen (STYLE.md rule 5: a config is a value; a
run, an upres or a read never changes its settings under the code that holds them)."""

from __future__ import annotations

import ast
from pathlib import Path

import billow

ENGINE = Path(billow.__file__).parent


def _is_config(cls: ast.ClassDef) -> bool:
    if cls.name.endswith(("Config", "Options", "Settings")):
        return True
    return any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "option"
               for n in ast.walk(cls))


def _dataclass_frozen(dec) -> bool | None:
    """None: not a dataclass decorator; else whether it says frozen=True."""
    call = dec if isinstance(dec, ast.Call) else None
    target = call.func if call else dec
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    if name != "dataclass":
        return None
    return bool(call) and any(k.arg == "frozen" and getattr(k.value, "value", False)
                              for k in call.keywords)


def test_every_config_dataclass_is_frozen():
    configs, mutable = [], []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef) or not _is_config(node):
                continue
            flags = [f for f in map(_dataclass_frozen, node.decorator_list) if f is not None]
            if not flags:
                continue
            configs.append(node.name)
            if not flags[0]:
                mutable.append(f"{path.relative_to(ENGINE)}:{node.name}")
    assert len(configs) >= 17 and "UpresConfig" in configs and "DatasetConfig" in configs
    assert not mutable, f"mutable config dataclasses: {mutable}"
