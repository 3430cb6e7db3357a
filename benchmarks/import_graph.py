"""Package -> package import graph of the engine (`engine/billow`), read from the source with ast.

    python benchmarks/import_graph.py            # one line per package: what it imports
    python benchmarks/import_graph.py --edges    # one line per edge, with the importing modules
    python benchmarks/import_graph.py --lines    # also the lines of code per package

A "package" is the first level under `billow` (`billow.io`, `billow.sim`, ...); top-level
modules (`billow.cli`, `billow.config`, ...) count as packages of their own. Imports inside
functions count too (they are dependencies all the same). Cycles between packages are listed.
"""

from __future__ import annotations

import argparse
import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "engine" / "billow"


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> list[str]:
    """Absolute names of the billow modules that `path` imports (relative imports resolved)."""
    mod = module_name(path, root)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.split(".")[0] == "billow"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != "billow":
                continue
            out.append(name)
            # `from billow.x import y` may name a submodule y
            out += [f"{name}.{a.name}" for a in node.names]
    return out


def package_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def module_files(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def graph(root: Path = ROOT) -> dict[str, dict[str, set[str]]]:
    """{package: {imported package: {importing modules}}}."""
    known = {module_name(p, root) for p in module_files(root)}
    g: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for p in module_files(root):
        mod = module_name(p, root)
        src = package_of(mod)
        if src is None:
            continue
        g[src]  # every package appears
        for name in imports_of(p, root):
            while name not in known and "." in name:
                name = name.rsplit(".", 1)[0]
            dst = package_of(name)
            if dst and dst != src:
                g[src][dst].add(mod)
    return g


def cycles(g) -> list[list[str]]:
    """Groups of packages that import each other, directly or round a loop (strongly connected
    components of more than one package)."""
    nodes = sorted(set(g) | {d for v in g.values() for d in v})
    reach = {n: set(g.get(n, {})) for n in nodes}
    changed = True
    while changed:  # transitive closure; a few dozen nodes
        changed = False
        for n in nodes:
            more = set().union(*(reach[m] for m in reach[n])) - reach[n] if reach[n] else set()
            if more:
                reach[n] |= more
                changed = True
    groups = {frozenset([n] + [m for m in reach[n] if n in reach[m]]) for n in nodes}
    return sorted(sorted(c) for c in groups if len(c) > 1)


def lines_per_package(root: Path = ROOT) -> dict[str, int]:
    count: dict[str, int] = defaultdict(int)
    for p in module_files(root):
        pkg = package_of(module_name(p, root))
        if pkg:
            count[pkg] += len(p.read_text().splitlines())
    return dict(count)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edges", action="store_true", help="one line per edge with its modules")
    ap.add_argument("--lines", action="store_true", help="lines of code per package")
    ap.add_argument("--root", type=Path, default=ROOT, help="the billow package folder")
    a = ap.parse_args()
    g = graph(a.root)
    lines = lines_per_package(a.root) if a.lines else {}
    for src in sorted(g):
        extra = f" [{lines.get(src, 0)} lines]" if a.lines else ""
        print(f"{src}{extra} -> {', '.join(sorted(g[src])) or '-'}")
        if a.edges:
            for dst in sorted(g[src]):
                print(f"    {src} -> {dst}: {', '.join(sorted(g[src][dst]))}")
    edges = sum(len(v) for v in g.values())
    cyc = cycles(g)
    print(f"{len(g)} packages, {edges} package->package edges, {len(cyc)} import cycles"
          + (": " + "; ".join(" <-> ".join(c) for c in cyc) if cyc else ""))


if __name__ == "__main__":
    main()
