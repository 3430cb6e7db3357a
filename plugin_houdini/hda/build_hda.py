"""Build the Billow Upres SOP, billow::upres::1.0, from its definition in git.

    hython plugin_houdini/hda/build_hda.py               # -> otls/billow__upres__1.0.hda
                                                         #    (.hdalc Indie, .hdanc Apprentice)
    hython plugin_houdini/hda/build_hda.py --expand DIR  # and the expanded text form (hotl -t)
    hython plugin_houdini/hda/build_hda.py --out other.hda

The asset's parameters, inner nodes, Python module, TAB menu entry and help all come from
`python/billow_houdini/hda_definition.py` (plain data, reviewed and diffed in git, checked by
tests/plugin_houdini). The built .hda is binary and git-ignored: rebuild it after changing the
definition, then bump VERSION there for incompatible changes (a new type name, never an edit of
a released one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(PACKAGE, "python"))

import hou  # noqa: E402  (hython provides it)

from billow_houdini import hda_definition as hda  # noqa: E402
from billow_houdini.hou_templates import parm_template  # noqa: E402


def _check_houdini() -> None:
    major, minor = hou.applicationVersion()[:2]
    if (major, minor) < hda.MIN_HOUDINI:
        sys.exit(f"build_hda: Houdini {major}.{minor} is older than the supported "
                 f"{'.'.join(map(str, hda.MIN_HOUDINI))}")


def _set(node, name, value) -> None:
    parm = node.parm(name)
    if parm is None:
        raise SystemExit(f"build_hda: {node.type().name()} has no parameter '{name}' in this "
                         "Houdini version; update INNER_NODES in hda_definition.py")
    parm.set(value)


def build(out_path: str):
    geo = hou.node("/obj").createNode("geo", "billow_build")
    subnet = geo.createNode("subnet", "billow_upres")
    made = {}
    for spec in hda.INNER_NODES:
        node = subnet.createNode(spec["type"], spec["name"])
        for name, value in spec["parms"].items():
            _set(node, name, value)
        src = spec["input"]
        node.setInput(0, subnet.indirectInputs()[src] if isinstance(src, int) else made[src])
        made[spec["name"]] = node
    last = made[hda.INNER_NODES[-1]["name"]]
    output = subnet.createNode("output", "output0")
    output.setInput(0, last)
    output.setDisplayFlag(True)
    subnet.layoutChildren()

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    asset = subnet.createDigitalAsset(
        name=hda.TYPE_NAME, hda_file_name=out_path, description=hda.LABEL,
        min_num_inputs=hda.MIN_INPUTS, max_num_inputs=hda.MAX_INPUTS, version=hda.VERSION,
        ignore_external_references=True)
    definition = asset.type().definition()

    group = hou.ParmTemplateGroup()
    for p in hda.PARMS:
        group.append(parm_template(p))
    definition.setParmTemplateGroup(group)
    definition.setIcon(hda.ICON)
    definition.addSection("PythonModule", hda.PYTHON_MODULE)
    definition.setExtraFileOption("PythonModule/IsPython", True)
    definition.addSection("Tools.shelf", hda.tool_xml())
    definition.addSection("Help", hda.HELP)
    definition.setComment(f"{hda.LABEL}: neural smoke upres with the billow engine")
    definition.save(out_path, template_node=asset)
    geo.destroy()
    return out_path


def expand(hda_path: str, folder: str) -> None:
    """The expanded text form (one file per section), for review: `hotl -t`."""
    hotl = shutil.which("hotl") or os.path.join(os.environ.get("HFS", ""), "bin", "hotl")
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    subprocess.run([hotl, "-t", folder, hda_path], check=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None,
                    help="default: otls/ with the extension this licence saves (.hda, .hdalc "
                    "Indie, .hdanc Apprentice/Education)")
    ap.add_argument("--expand", default=None, help="also write the expanded form here")
    args = ap.parse_args(argv)
    _check_houdini()
    if args.out is None:
        args.out = os.path.join(PACKAGE, hda.hda_file(str(hou.licenseCategory())))
    with tempfile.TemporaryDirectory() as tmp:
        built = build(os.path.join(tmp, os.path.basename(args.out)))
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        shutil.copyfile(built, args.out)
    print(f"build_hda: wrote {args.out} ({hda.TYPE_NAME})")
    if args.expand:
        expand(args.out, args.expand)
        print(f"build_hda: expanded into {args.expand}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
