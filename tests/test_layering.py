"""The engine's packages import only lower layers (docs/architecture.md), with no cycles and no
private names across packages; the exceptions of today are listed here and may only shrink."""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "engine" / "billow"

# (importing package, imported package): edges that break the layering today, each with the
# reason and the change that removes it. The lead shrinks this list as those changes merge.
KNOWN_EXCEPTIONS: dict = {}  # none since issue 19 merged; a new entry needs a reason and an owner
# (importing module, imported module, name): private names used across packages today
KNOWN_PRIVATE: dict = {}  # none since issue 19 merged


@functools.lru_cache(maxsize=1)
def _graph_module():
    spec = importlib.util.spec_from_file_location("import_graph",
                                                  REPO / "benchmarks" / "import_graph.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def layers() -> list[set[str]]:
    """The ```layers block of docs/architecture.md, lowest layer first."""
    text = (REPO / "docs" / "architecture.md").read_text()
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```layers block"
    return [set(line.split()) for line in reversed(block.group(1).strip().splitlines())]


def _level() -> dict[str, int]:
    return {pkg: i for i, line in enumerate(layers()) for pkg in line}


@functools.lru_cache(maxsize=1)
def _engine_graph():
    return _graph_module().graph(ROOT)


def test_every_package_is_placed():
    g = _engine_graph()
    assert len(g) > 10, "the import graph looks empty: the parse is wrong"
    unplaced = sorted(set(g) - set(_level()))
    assert not unplaced, f"place these packages in docs/architecture.md: {unplaced}"


def test_packages_import_only_lower_layers():
    level = _level()
    g = _engine_graph()
    bad = {(src, dst): sorted(mods) for src, deps in g.items() for dst, mods in deps.items()
           if level[dst] >= level[src] and (src, dst) not in KNOWN_EXCEPTIONS}
    assert not bad, "imports against docs/architecture.md: " + "; ".join(
        f"{s} -> {d} ({', '.join(m)})" for (s, d), m in bad.items())


def test_known_exceptions_are_still_needed():
    """An exception that the code no longer needs must leave the list (it only shrinks)."""
    level = _level()
    g = _engine_graph()
    stale = [e for e in KNOWN_EXCEPTIONS
             if e[1] not in g.get(e[0], {}) or level[e[1]] < level[e[0]]]
    assert not stale, f"remove from KNOWN_EXCEPTIONS: {stale}"


def test_no_cycles_between_packages():
    ig = _graph_module()
    g = _engine_graph()
    # a cycle is allowed only while one of its edges is a known exception
    cycles = [c for c in ig.cycles(g)
              if not any((a, b) in KNOWN_EXCEPTIONS for a in c for b in c)]
    assert not cycles, f"import cycles between packages: {cycles}"


def _private_imports():
    ig = _graph_module()
    found = set()
    for path in ig.module_files(ROOT):
        mod = ig.module_name(path, ROOT)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            names = [a.name for a in node.names
                     if a.name.startswith("_") and not a.name.startswith("__")]
            if not names:
                continue
            if node.level:
                base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
                target = ".".join(base[:len(base) - (node.level - 1)]
                                  + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            src, dst = ig.package_of(mod), ig.package_of(target)
            if target.startswith("billow.") and dst and src != dst:
                found |= {(mod, target, n) for n in names}
    return found


def test_no_private_names_across_packages():
    found = _private_imports()
    assert found - set(KNOWN_PRIVATE) == set(), "private names imported across packages"
    assert set(KNOWN_PRIVATE) - found == set(), "remove from KNOWN_PRIVATE: no longer imported"


def test_the_check_sees_a_violation(tmp_path):
    """The checks are not vacuous: an upward import in a copy of a module is found."""
    ig = _graph_module()
    fake = tmp_path / "billow"
    for pkg in ("io", "commands"):
        (fake / pkg).mkdir(parents=True)
        (fake / pkg / "__init__.py").write_text("")
    (fake / "io" / "bad.py").write_text("from ..commands import thing\n")
    g = ig.graph(fake)
    level = _level()
    assert "commands" in g["io"] and level["commands"] > level["io"]


def test_the_add_ons_never_import_the_engine():
    """The add-ons run the engine as a subprocess, through their vendored client."""
    offenders = []
    for folder in (REPO / "plugin_blender", REPO / "plugin_houdini" / "python"):
        files = sorted(folder.rglob("*.py"))
        assert files, folder
        for path in files:
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) and
                         node.level == 0 else [])
                offenders += [f"{path.relative_to(REPO)}: {n}" for n in names
                              if n.split(".")[0] == "billow"]
    assert not offenders, offenders
