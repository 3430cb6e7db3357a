"""Write the Billow Upres SOP, billow::upres::1.0, as an expanded asset (plain Python, no Houdini).

    python plugin_houdini/hda/write_expanded.py          # -> plugin_houdini/otls/billow_upres.hda/
    python plugin_houdini/hda/write_expanded.py --check  # exit 1 if the committed one is stale
    python plugin_houdini/hda/write_expanded.py --out DIR

The asset is a Python-type SOP: its cook is the PythonCook section, so every section is text and
the folder is the whole asset. It is the layout `hotl -t` writes and Houdini loads directly from
an `otls/` folder on HOUDINI_PATH (the package's `hpath`), with no build step:

    billow_upres.hda/
      Sections.list            file name <TAB> section name, one a line
      INDEX__SECTION           the library index: operator, label, icon, table, inputs, flags
      houdini.hdalibrary       empty marker
      billow_8_8Sop_1upres_8_81.0/     the section billow::Sop/upres::1.0 (see section_dir())
        Sections.list  DialogScript  CreateScript  TypePropertiesOptions  Help  Tools.shelf
        PythonCook  PythonModule  ExtraFileOptions

Everything comes from `python/billow_houdini/hda_definition.py`; the output is deterministic
(fixed order, fixed "Modified" stamp, LF line ends), so tests/plugin_houdini can check that the
committed folder is exactly what this script writes now. Run it after every change of the
definition and commit the result; `hda/build_hda.py` (hython) makes a binary .hda from it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(PACKAGE, "python"))

from billow_houdini import hda_definition as hda  # noqa: E402

DEFAULT_OUT = os.path.join(PACKAGE, *hda.EXPANDED_DIR.split("/"))
INDENT = "    "


# -- names ---------------------------------------------------------------------------------

def table_and_name() -> str:
    """The asset's section name: Houdini puts the namespace before the table for namespaced
    types (`billow::Sop/upres::1.0`, as in SideFX Labs' expanded assets)."""
    return f"{hda.NAMESPACE}::{hda.CATEGORY}/{hda.NAME}::{hda.VERSION}"


def section_dir(section: str) -> str:
    """A section name as a file name in the expanded form: `_` -> `__`, `/` -> `_1`,
    `:` -> `_8` (`billow::Sop/upres::1.0` -> `billow_8_8Sop_1upres_8_81.0`)."""
    return section.replace("_", "__").replace("/", "_1").replace(":", "_8")


# -- DialogScript --------------------------------------------------------------------------

def _q(text) -> str:
    """A dialog-script string: double-quoted, C escapes."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _num(value) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def _ds_type(p: dict) -> str:
    """The dialog-script type of a parameter; tuples name their components as
    hda_definition.component_names() says (`vector` -> x/y/z, `float` size 3 -> 1/2/3)."""
    kind, size = p["type"], p.get("size", 1)
    if kind in ("menu",):
        return "string"
    if kind in ("float", "int") and size > 1:
        xyz = hda.component_names(p)[0].endswith("x")
        if kind == "float":
            return {2: "vector2", 3: "vector", 4: "vector4"}[size] if xyz else "float"
        return {2: "intvector2", 3: "intvector", 4: "intvector4"}[size] if xyz else "integer"
    return {"int": "integer"}.get(kind, kind)


def _defaults(p: dict) -> list[str]:
    kind, size = p["type"], p.get("size", 1)
    if kind == "button":
        return ['"0"']
    if kind == "toggle":
        return [_q(int(bool(p["default"])))]
    if kind in ("string", "file", "menu"):
        return [_q(p["default"])]
    values = p["default"] if size > 1 else [p["default"]]
    exprs = p.get("expr") or [None] * len(values)
    return [f"[ {_q(e)} hscript-expr ]" if e is not None else _q(_num(v))
            for v, e in zip(values, exprs)]


def _parm(p: dict, depth: int) -> list[str]:
    pad, inner = INDENT * depth, INDENT * (depth + 1)
    lines = [f"{pad}parm {{",
             f"{inner}name    {_q(p['name'])}",
             f"{inner}label   {_q(p['label'])}",
             f"{inner}type    {_ds_type(p)}"]
    if p.get("size", 1) > 1:
        lines.append(f"{inner}size    {p['size']}")
    lines.append(f"{inner}default {{ {' '.join(_defaults(p))} }}")
    if p.get("hide_when"):
        lines.append(f"{inner}hidewhen {_q(p['hide_when'])}")
    if p["type"] == "menu":
        lines.append(f"{inner}menu {{")
        width = max(len(_q(tok)) for tok, _ in p["menu"])
        for tok, label in p["menu"]:
            lines.append(f"{inner}{INDENT}{_q(tok).ljust(width)} {_q(label)}")
        lines.append(f"{inner}}}")
    if p.get("range"):
        lo, hi = p["range"]
        lines.append(f"{inner}range   {{ {_num(lo)} {_num(hi)} }}")
    if p.get("help"):
        lines.append(f"{inner}help    {_q(p['help'])}")
    if p.get("file_type"):
        lines.append(f'{inner}parmtag {{ "filechooser_pattern" {_q(p["file_type"])} }}')
    if p["type"] == "button":
        lines.append(f'{inner}parmtag {{ "script_callback" {_q(p["callback"])} }}')
    lines.append(f'{inner}parmtag {{ "script_callback_language" "python" }}')
    lines.append(f"{pad}}}")
    return lines


def _folder(p: dict, depth: int) -> list[str]:
    """A tab: consecutive `group` blocks form one set of tabs."""
    pad, inner = INDENT * depth, INDENT * (depth + 1)
    lines = [f"{pad}group {{", f"{inner}name    {_q(p['name'])}",
             f"{inner}label   {_q(p['label'])}", ""]
    lines += _parms(p["parms"], depth + 1)
    return lines + [f"{pad}}}", ""]


def _parms(parms: list, depth: int) -> list[str]:
    out = []
    for p in parms:
        out += _folder(p, depth) if p["type"] == "folder" else _parm(p, depth)
    return out


def dialog_script() -> str:
    lines = [f"# Dialog script for {hda.TYPE_NAME}, written by plugin_houdini/hda/"
             "write_expanded.py from hda_definition.py",
             "", "{",
             f"{INDENT}name\t{hda.TYPE_NAME}",
             f"{INDENT}script\t{hda.TYPE_NAME}",
             f"{INDENT}label\t{_q(hda.LABEL)}",
             "",
             f"{INDENT}help {{", '\t""', f"{INDENT}}}",
             ""]
    lines += [f"{INDENT}inputlabel\t{i}\t{_q(label)}"
              for i, label in enumerate(hda.INPUT_LABELS, 1)]
    lines.append("")
    lines += _parms(hda.PARMS, 1)
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines + ["}", ""])


# -- the other sections --------------------------------------------------------------------

def create_script() -> str:
    return (f"# Creation script for {hda.TYPE_NAME} (written by write_expanded.py)\n"
            "\\set noalias = 1\n"
            "\n"
            'if ( "$arg1" == "" ) then\n'
            "    echo This script is intended as a creation script\n"
            "    exit\n"
            "endif\n"
            "\n"
            f"# Node $arg1 ({table_and_name()})\n"
            "opexprlanguage -s hscript $arg1\n")


TYPE_PROPERTIES = {  # the Type Properties > Basic options; contents options do not apply here
    "CheckExternal": 1, "ContentsCompressionType": 1, "ForbidOutsideParms": 1,
    "GzipContents": 1, "LockContents": 1, "MakeDefault": 1, "ParmsFromVfl": 0,
    "PrefixDroppedParmLabel": 0, "PrefixDroppedParmName": 0, "SaveCachedCode": 0,
    "SaveIcon": 1, "SaveSpareParms": 0, "UnlockOnCreate": 0, "UseDSParms": 1,
}


def type_properties() -> str:
    return "".join(f"{k} := {v};\n" for k, v in sorted(TYPE_PROPERTIES.items()))


def extra_file_options() -> str:
    """Which sections are Python (Houdini's JSON layout: tab-indented, no spaces)."""
    options = {}
    for section in ("PythonCook", "PythonModule"):
        options[f"{section}/IsExpr"] = ("bool", False)
        options[f"{section}/IsPython"] = ("bool", True)
        options[f"{section}/IsScript"] = ("bool", True)
        options[f"{section}/Source"] = ("string", "")
    items = [f'\t{json.dumps(k)}:{{\n\t\t"type":{json.dumps(t)},\n\t\t"value":{json.dumps(v)}\n\t}}'
             for k, (t, v) in sorted(options.items())]
    return "{\n" + ",\n".join(items) + "\n}\n"


def index_section() -> str:
    section = table_and_name()
    rows = [("Operator", hda.TYPE_NAME), ("Label", hda.LABEL),
            ("Path", f"oplib:/{section}?{section}"), ("Icon", hda.ICON),
            ("Table", hda.CATEGORY), ("License", ""), ("Extra", ""), ("User", ""),
            ("Inputs", f"{hda.MIN_INPUTS} to {hda.MAX_INPUTS}"),
            ("Subnet", "false"), ("Python", "true"), ("Empty", "false"),
            ("Modified", hda.MODIFIED)]
    return "".join(f"{(key + ':').ljust(14)}{value}\n" for key, value in rows) + "\n"


def sections_list(names) -> str:
    return '""\n' + "".join(f"{section_dir(n)}\t{n}\n" for n in names)


OPERATOR_SECTIONS = ("DialogScript", "CreateScript", "TypePropertiesOptions", "Help",
                     "Tools.shelf", "PythonCook", "PythonModule", "ExtraFileOptions")


def files() -> dict[str, str]:
    """Every file of the expanded asset: relative path (with /) -> text."""
    op = section_dir(table_and_name())
    body = {"DialogScript": dialog_script(), "CreateScript": create_script(),
            "TypePropertiesOptions": type_properties(), "Help": hda.HELP,
            "Tools.shelf": hda.tool_xml(), "PythonCook": hda.PYTHON_COOK,
            "PythonModule": hda.PYTHON_MODULE, "ExtraFileOptions": extra_file_options()}
    assert set(body) == set(OPERATOR_SECTIONS)
    out = {"Sections.list": '""\nINDEX__SECTION\tINDEX_SECTION\n'
                            "houdini.hdalibrary\thoudini.hdalibrary\n"
                            f"{op}\t{table_and_name()}\n",
           "INDEX__SECTION": index_section(),
           "houdini.hdalibrary": "",
           f"{op}/Sections.list": sections_list(OPERATOR_SECTIONS)}
    out.update({f"{op}/{name}": body[name] for name in OPERATOR_SECTIONS})
    return out


def on_disk(folder: str) -> dict[str, str]:
    """The files under `folder` as files() lists them."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, encoding="utf-8", newline="") as f:
                found[os.path.relpath(path, folder).replace(os.sep, "/")] = f.read()
    return found


def stale(folder: str = DEFAULT_OUT) -> list[str]:
    """Files of `folder` that differ from what this script writes now (missing/extra too)."""
    want, have = files(), on_disk(folder) if os.path.isdir(folder) else {}
    return sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))


def write(folder: str = DEFAULT_OUT) -> str:
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    for rel, text in files().items():
        path = os.path.join(folder, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return folder


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="default: %(default)s")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if the folder differs from the definition")
    args = ap.parse_args(argv)
    if args.check:
        diff = stale(args.out)
        for rel in diff:
            print(f"write_expanded: stale {rel}")
        return 1 if diff else 0
    write(args.out)
    print(f"write_expanded: wrote {args.out} ({hda.TYPE_NAME}, {len(files())} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
