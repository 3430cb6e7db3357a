"""The add-ons' client is the engine's `billow/client.py`, copied by tools/vendor_client.py:
every copy holds the source byte for byte (after the vendoring header), and the source stays
standard-library only (Blender's and Houdini's Pythons have neither numpy nor billow)."""

import ast
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("vendor_client", REPO / "tools" / "vendor_client.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_vendored_copies_are_the_engine_client():
    tool = _tool()
    assert len(tool.COPIES) == 2
    for copy in tool.COPIES:
        text = copy.read_text()
        assert text.startswith(tool.HEADER), copy
        assert text[len(tool.HEADER):] == tool.SOURCE.read_text(), (
            f"{copy} differs from engine/billow/client.py: run python tools/vendor_client.py")
    assert tool.stale() == []


def test_client_imports_only_the_standard_library():
    tree = ast.parse((REPO / "engine" / "billow" / "client.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "the client must not import from billow"
            names.add(node.module.split(".")[0])
    assert names, "no imports found: the parse is wrong"
    assert names <= set(sys.stdlib_module_names), names - set(sys.stdlib_module_names)


def test_check_mode_sees_a_stale_copy(tmp_path, monkeypatch):
    tool = _tool()
    copy = tmp_path / "billow_client.py"
    copy.write_text(tool.vendored_text() + "# edited by hand\n")
    monkeypatch.setattr(tool, "COPIES", (copy,))
    assert tool.stale() == [copy]
    monkeypatch.setattr(sys, "argv", ["vendor_client.py"])
    assert tool.main() == 0 and tool.stale() == []
