"""The committed asset, plugin_houdini/otls/billow_upres.hda/ (expanded text form, a Python-type
SOP), against its generator and its definition. No Houdini: whether Houdini loads it is checked
by `hython plugin_houdini/hda/build_hda.py --check` only."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from unittest import mock

import pytest

from billow_houdini import hda_definition as hda

from .conftest import PLUGIN

FOLDER = PLUGIN / "otls" / "billow_upres.hda"
OPERATOR = "billow::Sop/upres::1.0"
OPERATOR_DIR = FOLDER / "billow_8_8Sop_1upres_8_81.0"


@pytest.fixture(scope="module")
def write_expanded():
    sys.path.insert(0, str(PLUGIN / "hda"))
    try:
        import write_expanded
        yield write_expanded
    finally:
        sys.path.remove(str(PLUGIN / "hda"))
        sys.modules.pop("write_expanded", None)


def test_the_committed_folder_is_what_the_generator_writes_now(write_expanded, tmp_path):
    """Change hda_definition.py, run `python plugin_houdini/hda/write_expanded.py`, commit."""
    assert write_expanded.stale(str(FOLDER)) == [], (
        "otls/billow_upres.hda is stale: run python plugin_houdini/hda/write_expanded.py")
    # deterministic: two runs write the same bytes
    a, b = tmp_path / "a.hda", tmp_path / "b.hda"
    assert write_expanded.main(["--out", str(a)]) == 0
    write_expanded.write(str(b))
    files_a = {p.relative_to(a): p.read_bytes() for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()}
    assert files_a == files_b
    assert write_expanded.main(["--check", "--out", str(a)]) == 0
    (a / "INDEX__SECTION").write_text("edited by hand\n")
    (a / "stray").write_text("")
    assert write_expanded.stale(str(a)) == ["INDEX__SECTION", "stray"]
    assert write_expanded.main(["--check", "--out", str(a)]) == 1


def test_section_names_are_encoded_as_houdini_does(write_expanded):
    # as in SideFX Labs' expanded assets, e.g. labs_8_8Sop_1align__and__distribute
    assert write_expanded.section_dir("labs::Sop/align_and_distribute") == \
        "labs_8_8Sop_1align__and__distribute"
    assert write_expanded.table_and_name() == OPERATOR
    assert write_expanded.section_dir(OPERATOR) == OPERATOR_DIR.name


def _sections(folder: Path) -> dict[str, str]:
    lines = (folder / "Sections.list").read_text().splitlines()
    assert lines[0] == '""'
    return dict(line.split("\t") for line in lines[1:])


def test_every_listed_section_exists_and_every_file_is_listed():
    top = _sections(FOLDER)
    assert top == {"INDEX__SECTION": "INDEX_SECTION", "houdini.hdalibrary": "houdini.hdalibrary",
                   OPERATOR_DIR.name: OPERATOR}
    for name in top:
        assert (FOLDER / name).exists(), name
    assert {p.name for p in FOLDER.iterdir()} == set(top) | {"Sections.list"}
    inner = _sections(OPERATOR_DIR)
    assert all(k == v for k, v in inner.items())
    assert {p.name for p in OPERATOR_DIR.iterdir()} == set(inner) | {"Sections.list"}
    # a Python-type SOP: no Contents (the binary subnet network), a PythonCook instead
    assert "PythonCook" in inner and not any(k.startswith("Contents") for k in inner)
    assert (FOLDER / "houdini.hdalibrary").read_text() == ""
    for path in FOLDER.rglob("*"):
        if path.is_file():
            assert b"\r" not in path.read_bytes(), path  # LF, as written


def test_index_names_the_operator():
    rows = dict(re.match(r"(\w+):\s*(.*)$", line).groups()
                for line in (FOLDER / "INDEX__SECTION").read_text().splitlines() if line)
    assert rows["Operator"] == hda.TYPE_NAME == "billow::upres::1.0"
    assert rows["Table"] == "Sop" and rows["Label"] == hda.LABEL == "Billow Upres"
    assert rows["Icon"] == hda.ICON == "SOP_vdb"
    assert rows["Inputs"] == "0 to 1"  # min inputs 0: the SOP can read a cache on disk alone
    assert (rows["Subnet"], rows["Python"], rows["Empty"]) == ("false", "true", "false")
    assert rows["Path"] == f"oplib:/{OPERATOR}?{OPERATOR}"
    assert re.fullmatch(r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4}", rows["Modified"])


def _dialog_script(text: str) -> dict:
    """A small reader of the dialog-script layout (the subset Houdini writes for these parms):
    {"top": {key: tokens}, "items": [folders {"group": .., "items": [...]} and parms]}."""
    token = re.compile(r'"(?:\\.|[^"\\])*"|\[|\]|[^\s\[\]]+')

    def value(tok):
        return json.loads(tok) if tok.startswith('"') else tok

    root = {"kind": "root", "fields": {}, "items": []}
    stack, menu, skip = [root], None, 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if skip:
            skip += line.endswith("{") - (line == "}")
            continue
        if menu is not None:
            if line == "}":
                stack[-1]["fields"]["menu"], menu = menu, None
            else:
                menu.append([value(t) for t in token.findall(line)])
            continue
        if line == "{" and stack == [root]:
            continue
        if line == "}":
            stack.pop()
            continue
        key, rest = re.match(r"(\S+)\s*(.*)$", line).groups()
        if key in ("parm", "group") and rest == "{":
            item = {"kind": key, "fields": {}, "items": []}
            stack[-1]["items"].append(item)
            stack.append(item)
        elif key == "menu" and rest == "{":
            menu = []
        elif key == "help" and rest == "{":
            skip = 1
        elif rest.startswith("{") and rest.endswith("}"):
            toks = token.findall(rest[1:-1])
            stack[-1]["fields"].setdefault(key, []).append([value(t) for t in toks])
        else:
            stack[-1]["fields"][key] = [value(t) for t in token.findall(rest)]
    assert stack == [], "unbalanced braces"
    return root


def _defaults_of(p: dict) -> list:
    """The defaults as the dialog script should spell them."""
    if p["type"] == "button":
        return ["0"]
    if p["type"] == "toggle":
        return [str(int(p["default"]))]
    if p["type"] in ("string", "file", "menu"):
        return [p["default"]]
    values = p["default"] if p.get("size", 1) > 1 else [p["default"]]
    exprs = p.get("expr") or [None] * len(values)
    out = []
    for v, e in zip(values, exprs):
        out += ["[", e, "hscript-expr", "]"] if e else [str(int(v) if float(v).is_integer()
                                                            else float(v))]
    return out


def _compare(items: list, parms: list) -> None:
    assert [i["fields"]["name"][0] for i in items] == [p["name"] for p in parms]
    ds_types = {"menu": "string", "int": "integer"}
    for item, p in zip(items, parms):
        f = item["fields"]
        assert f["label"] == [p["label"]], p["name"]
        if p["type"] == "folder":
            assert item["kind"] == "group"
            _compare(item["items"], p["parms"])
            continue
        assert item["kind"] == "parm"
        size = p.get("size", 1)
        kind = ds_types.get(p["type"], p["type"])
        if size > 1:  # component names: x/y/z for vectors, 1/2/3 for the frame range
            kind = "vector" if hda.component_names(p)[0].endswith("x") else kind
            assert f["size"] == [str(size)], p["name"]
        assert f["type"] == [kind], p["name"]
        assert f["default"] == [_defaults_of(p)], p["name"]
        assert f.get("menu") == (p["menu"] if p["type"] == "menu" else None), p["name"]
        assert f.get("hidewhen") == ([p["hide_when"]] if p.get("hide_when") else None)
        assert f.get("help") == ([p["help"]] if p.get("help") else None), p["name"]
        if p.get("range"):
            assert [float(x) for x in f["range"][0]] == [float(x) for x in p["range"]]
        tags = {t[0]: t[1] for t in f.get("parmtag", [])}
        assert tags.get("script_callback") == p.get("callback"), p["name"]
        assert tags.get("filechooser_pattern") == p.get("file_type"), p["name"]
        assert tags["script_callback_language"] == "python"


def test_the_dialog_script_has_the_definitions_parameters():
    ds = _dialog_script((OPERATOR_DIR / "DialogScript").read_text())
    assert ds["fields"]["name"] == [hda.TYPE_NAME] and ds["fields"]["label"] == [hda.LABEL]
    assert ds["fields"]["inputlabel"] == ["1", hda.INPUT_LABELS[0]]
    _compare(ds["items"], hda.PARMS)
    # every parameter the SOP reads (hou_sop.read_parms) is there under its component names
    names = []

    def walk(items):
        for i in items:
            if i["kind"] == "group":
                walk(i["items"])
            else:
                n, size = i["fields"]["name"][0], int(i["fields"].get("size", ["1"])[0])
                suffix = "xyzw" if i["fields"]["type"][0].startswith("vector") else "123"
                names.extend([n] if size == 1 else [n + s for s in suffix[:size]])
    walk(ds["items"])
    assert names == [n for p in hda.iter_parms() for n in hda.component_names(p)]


def test_the_python_sections():
    cook = (OPERATOR_DIR / "PythonCook").read_text()
    assert cook == hda.PYTHON_COOK
    assert (OPERATOR_DIR / "PythonModule").read_text() == hda.PYTHON_MODULE
    options = json.loads((OPERATOR_DIR / "ExtraFileOptions").read_text())
    for section in ("PythonCook", "PythonModule"):
        assert options[f"{section}/IsPython"] == {"type": "bool", "value": True}
        assert options[f"{section}/IsScript"]["value"] is True
    # the cook runs hou_sop.cook on the cooking node (hou.pwd()), and nothing else
    fake_hou, fake_sop = mock.MagicMock(name="hou"), mock.MagicMock(name="hou_sop")
    package = mock.MagicMock(hou_sop=fake_sop)
    with mock.patch.dict(sys.modules, {"hou": fake_hou, "billow_houdini": package,
                                       "billow_houdini.hou_sop": fake_sop}):
        exec(compile(cook, "PythonCook", "exec"), {})
    fake_sop.cook.assert_called_once_with(fake_hou.pwd.return_value)
    tool = ET.fromstring((OPERATOR_DIR / "Tools.shelf").read_text())
    assert tool.find("tool/toolSubmenu").text == hda.TAB_SUBMENU
    assert (OPERATOR_DIR / "Help").read_text() == hda.HELP
    options = dict(re.findall(r"(\w+) := (\d+);", (OPERATOR_DIR / "TypePropertiesOptions")
                              .read_text()))
    assert options["UseDSParms"] == "1"  # the parameters come from the DialogScript
    assert "opexprlanguage -s hscript $arg1" in (OPERATOR_DIR / "CreateScript").read_text()


def test_volumes_are_converted_to_vdb_before_writing(monkeypatch, tmp_path):
    """hou_input.as_vdb (the old subnet's Convert VDB node) against a mock `hou`."""
    fake = mock.MagicMock(name="hou")
    monkeypatch.setitem(sys.modules, "hou", fake)
    monkeypatch.delitem(sys.modules, "billow_houdini.hou_input", raising=False)
    from billow_houdini import hou_input

    vdb_geo, volume_geo = mock.MagicMock(), mock.MagicMock()
    vdb_geo.prims.return_value = [mock.MagicMock(**{"type.return_value": fake.primType.VDB})]
    volume_geo.prims.return_value = [mock.MagicMock(**{"type.return_value": fake.primType.Volume})]
    assert hou_input.as_vdb(vdb_geo) is vdb_geo
    verb = fake.sopNodeTypeCategory.return_value.nodeVerb.return_value
    verb.parms.return_value = {"conversion": "volume", "group": ""}
    out = hou_input.as_vdb(volume_geo)
    fake.sopNodeTypeCategory.return_value.nodeVerb.assert_called_with("convertvdb")
    verb.setParms.assert_called_once_with({"conversion": "vdb", "group": ""})
    verb.execute.assert_called_once_with(out, [volume_geo])
    verb.parms.return_value = {"conversion": 0}  # a menu stored as its index
    hou_input.as_vdb(volume_geo)
    assert verb.setParms.call_args[0][0] == {"conversion": 1}
    with pytest.raises(hou_input.SettingsError, match="no VDB or volume"):
        hou_input.write_input(mock.MagicMock(**{"prims.return_value": []}), str(tmp_path / "x"))


def test_parameter_schematic_is_drawn_from_the_definitions(tmp_path):
    """The README's picture of the pane comes from the asset's own parameter definitions."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "plugin_houdini/docs/make_parm_image.py"
    out = tmp_path / "parms.png"
    r = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    from PIL import Image

    img = Image.open(out)
    assert img.size[0] > 800 and len(set(img.convert("L").getdata())) > 10
