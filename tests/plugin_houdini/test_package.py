"""The Houdini package as text: package JSON, the HDA definition, shelf, import rules.

Houdini is not available here, so the `hou` layer is checked for structure (it compiles for
Houdini's Python, calls functions that exist, stays thin) and run once against a mock `hou`
(which catches typos, not API misuse); it is exercised for real only inside Houdini.
"""

from __future__ import annotations

import ast
import json
import fnmatch
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from unittest import mock

import pytest

from billow_houdini import hda_definition as hda
from billow_houdini.command import settings_from_parms

from .conftest import PLUGIN
from .test_command import parm_defaults

PY = PLUGIN / "python" / "billow_houdini"
HOU_LAYER = {"hou_sop.py", "hou_input.py", "hou_top.py", "hou_shelf.py", "hou_templates.py"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _defs(path: Path) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.FunctionDef)}


def test_package_json_is_relocatable_with_a_version_check():
    pkg = json.loads((PLUGIN / "billow.json").read_text())
    m = re.fullmatch(r"houdini_version >= '(\d+)\.(\d+)'", pkg["enable"])
    assert m and tuple(map(int, m.groups())) == hda.MIN_HOUDINI
    env = {k: v for item in pkg["env"] for k, v in item.items()}
    assert env["BILLOW_HOUDINI"] == "$HOUDINI_PACKAGE_PATH"
    assert env["PYTHONPATH"] == {"value": "$BILLOW_HOUDINI/python", "method": "prepend"}
    assert pkg["hpath"] == "$BILLOW_HOUDINI" and pkg["load_package_once"] is True
    # every path it adds exists in the package folder, wherever that folder is
    for value in (env["PYTHONPATH"]["value"], pkg["hpath"]):
        assert (PLUGIN / value.replace("$BILLOW_HOUDINI", ".")).is_dir()
    assert (PLUGIN / "toolbar" / "billow.shelf").is_file()  # found through hpath


def test_no_absolute_paths_or_secrets_in_the_package():
    bad = re.compile(r"(/work/|/home/|/Users/|[A-Z]:\\\\|/root/|/opt/hfs|password|token=)")
    for path in PLUGIN.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".json", ".shelf", ".md", ".txt"):
            text = path.read_text()
            # examples in docstrings/README may show /opt/... as an illustration only
            assert not bad.search(text), f"{path}: {bad.search(text).group(0)}"


def test_hda_type_name_is_namespaced_and_versioned():
    assert hda.TYPE_NAME == "billow::upres::1.0"
    assert re.fullmatch(r"[a-z]+::[a-z_]+::\d+\.\d+", hda.TYPE_NAME)
    assert hda.HDA_FILE == "dist/billow__upres__1.0.hda"
    assert hda.EXPANDED_DIR == "otls/billow_upres.hda"
    assert f"#internal: {hda.TYPE_NAME}" in hda.HELP
    assert (hda.MIN_INPUTS, hda.MAX_INPUTS) == (0, 1) and len(hda.INPUT_LABELS) == 1
    gitignore = (PLUGIN / ".gitignore").read_text().splitlines()
    assert "dist/" in gitignore  # binary copies are built, never committed
    assert "!otls/billow_upres.hda/" in gitignore  # the text asset is committed


@pytest.mark.parametrize("category, name", [
    ("licenseCategoryType.Commercial", "dist/billow__upres__1.0.hda"),
    ("licenseCategoryType.Indie", "dist/billow__upres__1.0.hdalc"),
    ("licenseCategoryType.Apprentice", "dist/billow__upres__1.0.hdanc"),
    ("ApprenticeHD", "dist/billow__upres__1.0.hdanc"),
    ("licenseCategoryType.Education", "dist/billow__upres__1.0.hdanc"),
])
def test_non_commercial_licences_get_their_extension(category, name):
    """Indie saves .hdalc, Apprentice/Education .hdanc: the build names the file so, and git
    ignores those as it ignores the .hda (in dist/, and in otls/ where a licence may save)."""
    assert hda.hda_file(category) == name
    ignored = (PLUGIN / ".gitignore").read_text().splitlines()
    assert "dist/" in ignored
    in_otls = "otls/" + name.split("/")[1]
    assert any(fnmatch.fnmatch(in_otls, p) for p in ignored if p.startswith("otls/")), in_otls


def _build_hda():
    sys.path.insert(0, str(PLUGIN / "hda"))
    try:
        import build_hda
        return build_hda
    finally:
        sys.path.remove(str(PLUGIN / "hda"))
        sys.modules.pop("build_hda", None)
        sys.modules.pop("write_expanded", None)


def _loaded_definition(mock_hou):
    """What a mock `hou.hda` returns for the committed folder: the billow definition."""
    definition = mock.MagicMock(name="definition")
    definition.nodeTypeName.return_value = hda.TYPE_NAME
    definition.nodeTypeCategory.return_value.name.return_value = hda.CATEGORY
    definition.minNumInputs.return_value, definition.maxNumInputs.return_value = 0, 1
    definition.sections.return_value = {n: None for n in
                                        ("DialogScript", "CreateScript", "TypePropertiesOptions",
                                         "Help", "Tools.shelf", "PythonCook", "PythonModule",
                                         "ExtraFileOptions")}
    mock_hou.hda.definitionsInFile.return_value = [definition]
    node = mock_hou.node.return_value.createNode.return_value.createNode.return_value
    parms = []
    for p in hda.iter_parms():
        for n in hda.component_names(p):
            parm = mock.MagicMock()
            parm.name.return_value = n
            parms.append(parm)
    node.parms.return_value = parms
    node.parm.return_value.evalAsString.return_value = "input"
    node.parm.return_value.expression.return_value = "$FEND"
    node.errors.return_value = ("...pyro.$F4.vdb: missing frames 1 (of 1)",)
    return definition


def test_the_build_names_its_output_by_licence(mock_hou, tmp_path):
    mock_hou.licenseCategory.return_value = "licenseCategoryType.Indie"
    definition = _loaded_definition(mock_hou)
    build_hda = _build_hda()
    build_hda.PACKAGE = str(tmp_path)  # the default folder: $BILLOW_HOUDINI/dist
    assert build_hda.main([]) == 0
    written = definition.copyToHDAFile.call_args[0][0]
    assert written == str(tmp_path / "dist" / "billow__upres__1.0.hdalc")
    assert (tmp_path / "dist").is_dir()
    # the committed folder is what Houdini is asked to load
    folder = mock_hou.hda.installFile.call_args[0][0]
    assert folder == str(PLUGIN / "otls" / "billow_upres.hda")


def test_the_build_check_reports_a_mismatch_and_a_stale_folder(mock_hou, tmp_path):
    definition = _loaded_definition(mock_hou)
    definition.maxNumInputs.return_value = 2
    build_hda = _build_hda()
    assert build_hda.main(["--check"]) == 1
    definition.copyToHDAFile.assert_not_called()
    with pytest.raises(SystemExit, match="stale"):
        build_hda.main(["--check", "--folder", str(tmp_path)])


def test_parameters_are_well_formed():
    kinds = {"string", "file", "menu", "float", "int", "toggle", "button"}
    names = []
    for p in hda.iter_parms():
        assert p["type"] in kinds, p
        assert re.fullmatch(r"[a-z][a-z0-9_]*", p["name"]) and p["label"], p
        names += hda.component_names(p)
        if p["type"] == "menu":
            assert p["default"] in [tok for tok, _ in p["menu"]], p
        if p["type"] == "button":
            assert re.fullmatch(r"hou\.phm\(\)\.(\w+)\(kwargs\)", p["callback"])
        if p.get("size", 1) > 1:
            assert len(p["default"]) == p["size"]
        if p.get("hide_when"):
            for ref in re.findall(r"\{ (\w+) [!=]=", p["hide_when"]):
                assert any(q["name"] == ref for q in hda.iter_parms()), ref
    assert len(names) == len(set(names)), "duplicate parameter names"
    assert {"f1", "f2", "f3", "maskcenterx", "maskmaxz"} <= set(names)


def test_parameters_and_command_mapping_agree():
    """Every value `settings_from_parms` reads is a parameter of the asset, and every parameter
    is read by it or by the SOP itself."""
    class Recording(dict):
        seen: set = set()

        def get(self, key, default=None):
            self.seen.add(key)
            return super().get(key, default)

        def __getitem__(self, key):
            self.seen.add(key)
            return super().__getitem__(key)

    values = Recording(parm_defaults(source="file"))
    settings_from_parms(values, {"HIP": "/h", "OS": "n"}, "/h", frames="1-2")
    defined = {n for p in hda.iter_parms() if p["type"] != "button"
               for n in hda.component_names(p)}
    assert Recording.seen <= defined, Recording.seen - defined
    sop_only = {"source", "reuse", "f1", "f2", "f3", "executable"}  # read by hou_sop.py
    assert defined - Recording.seen <= sop_only, defined - Recording.seen
    sop_text = (PY / "hou_sop.py").read_text()
    for name in sop_only:
        assert f'"{name}"' in sop_text, name


def test_callbacks_and_cook_code_call_functions_that_exist():
    module_defs = {n.name for n in ast.parse(hda.PYTHON_MODULE).body
                   if isinstance(n, ast.FunctionDef)}
    for p in hda.iter_parms():
        if p["type"] == "button":
            assert re.search(r"phm\(\)\.(\w+)", p["callback"]).group(1) in module_defs
    sop_defs = _defs(PY / "hou_sop.py")
    assert {"render_range", "show_command", "cook"} <= sop_defs
    for called in re.findall(r"hou_sop\.(\w+)\(", hda.PYTHON_MODULE):
        assert called in sop_defs
    compile(hda.PYTHON_COOK, "PythonCook", "exec")
    assert re.findall(r"hou_sop\.(\w+)\(", hda.PYTHON_COOK) == ["cook"]
    # the old subnet's Convert VDB node is now the convertvdb verb on the upstream geometry
    input_defs = _defs(PY / "hou_input.py")
    assert {"as_vdb", "write_input", "write_upstream_range", "upstream_of"} <= input_defs
    assert 'nodeVerb("convertvdb")' in (PY / "hou_input.py").read_text()
    sop_text = (PY / "hou_sop.py").read_text()
    for called in re.findall(r"from \.hou_input import ([\w, ]+)", sop_text):
        assert {c.strip() for c in called.split(",")} <= input_defs


def test_shelf_and_tab_menu_xml():
    shelf = ET.parse(PLUGIN / "toolbar" / "billow.shelf").getroot()
    tools = {t.get("name"): t for t in shelf.iter("tool")}
    members = {m.get("name") for m in shelf.iter("memberTool")}
    assert members == set(tools) == {"billow_upres_after_cache", "billow_upres_top"}
    shelf_defs = _defs(PY / "hou_shelf.py")
    for tool in tools.values():
        script = tool.find("script").text
        compile(script, tool.get("name"), "exec")
        assert re.search(r"hou_shelf\.(\w+)\(", script).group(1) in shelf_defs
    tab = ET.fromstring(hda.tool_xml())
    assert tab.find("tool/toolSubmenu").text == hda.TAB_SUBMENU


def test_import_rules():
    """Plain modules import neither hou/pdg nor the engine (they run in Houdini's own Python,
    where billow, torch and numpy are not installed); only the hou layer imports hou."""
    forbidden = {"hou", "pdg", "billow", "torch", "numpy", "onnx", "onnxruntime"}
    for path in PY.glob("*.py"):
        used = _imports(path)
        if path.name in HOU_LAYER:
            assert "hou" in used and not (used & (forbidden - {"hou"})), (path.name, used)
            assert len(path.read_text().splitlines()) < 200, f"{path.name}: keep the hou layer thin"
        else:
            assert not used & forbidden, (path.name, used & forbidden)
        # Houdini 20.0 ships Python 3.9+ (3.10, 3.11 later): parse with the oldest grammar
        ast.parse(path.read_text(), feature_version=(3, 9))
    for script in ("build_hda.py", "write_expanded.py"):
        ast.parse((PLUGIN / "hda" / script).read_text(), feature_version=(3, 9))


@pytest.fixture
def mock_hou(monkeypatch):
    fake = mock.MagicMock(name="hou")
    fake.applicationVersion.return_value = (20, 5, 0)
    monkeypatch.setitem(sys.modules, "hou", fake)
    for name in [m for m in sys.modules if m.startswith("billow_houdini.hou_")]:
        monkeypatch.delitem(sys.modules, name)
    return fake


def test_hou_layer_runs_against_a_mock(mock_hou, tmp_path):
    """A smoke test only: the template mapping and the build script run end to end with a mock
    `hou` (no typos, every definition field consumed); real behaviour needs Houdini."""
    from billow_houdini.hou_templates import parm_template

    for p in hda.PARMS:
        parm_template(p)
    calls = str(mock_hou.mock_calls)
    assert "ButtonParmTemplate('render'" in calls and "FolderParmTemplate('io_folder'" in calls

    definition = _loaded_definition(mock_hou)
    build_hda = _build_hda()
    out = tmp_path / "billow__upres__1.0.hda"
    assert build_hda.main(["--out", str(out)]) == 0
    definition.copyToHDAFile.assert_called_once_with(str(out))
    calls = str(mock_hou.mock_calls)
    assert f"createNode('{hda.TYPE_NAME}')" in calls and "installFile(" in calls
