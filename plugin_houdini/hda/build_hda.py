"""Load, check and (optionally) collapse the Billow Upres SOP, billow::upres::1.0, in hython.

    hython plugin_houdini/hda/build_hda.py --check   # load otls/billow_upres.hda, create a node,
                                                     # compare its parameters, cook it once on a
                                                     # missing cache; write nothing
    hython plugin_houdini/hda/build_hda.py           # and collapse it into a binary asset:
                                                     # dist/billow__upres__1.0.hda (.hdalc Indie,
                                                     # .hdanc Apprentice/Education)
    hython plugin_houdini/hda/build_hda.py --out other.hda

The asset itself needs no build: it is committed as text in `otls/billow_upres.hda/` (written by
`write_expanded.py` from `python/billow_houdini/hda_definition.py`) and Houdini loads it from
there. This script is the Houdini-side route: it refuses a stale folder, installs the folder as
Houdini would, checks the loaded type against the definition and writes a single-file copy
for studios that distribute binaries (keep that copy off a path that also sees the package's
otls/, or Houdini finds two definitions of the type). Incompatible changes get a new type name
(`billow::upres::2.0`), never an edit of a released one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(PACKAGE, "python"))
sys.path.insert(0, HERE)

import hou  # noqa: E402  (hython provides it)

import write_expanded  # noqa: E402
from billow_houdini import hda_definition as hda  # noqa: E402


def _check_houdini() -> None:
    major, minor = hou.applicationVersion()[:2]
    if (major, minor) < hda.MIN_HOUDINI:
        sys.exit(f"build_hda: Houdini {major}.{minor} is older than the supported "
                 f"{'.'.join(map(str, hda.MIN_HOUDINI))}")


def load(folder: str):
    """Install the expanded folder as Houdini does from otls/; its billow::upres definition."""
    stale = write_expanded.stale(folder)
    if stale:
        sys.exit(f"build_hda: {folder} is stale ({', '.join(stale)}); run "
                 "`python plugin_houdini/hda/write_expanded.py` and commit the result")
    hou.hda.installFile(folder, force_use_assets=True)
    for definition in hou.hda.definitionsInFile(folder):
        if definition.nodeTypeName() == hda.TYPE_NAME:
            return definition
    sys.exit(f"build_hda: Houdini read {folder} but found no {hda.TYPE_NAME} in it")


def check(definition) -> list:
    """What differs between the type Houdini loaded and the definition (empty: none)."""
    problems = []
    if definition.nodeTypeCategory().name() != hda.CATEGORY:
        problems.append(f"category {definition.nodeTypeCategory().name()}")
    if (definition.minNumInputs(), definition.maxNumInputs()) != (hda.MIN_INPUTS, hda.MAX_INPUTS):
        problems.append(f"inputs {definition.minNumInputs()}-{definition.maxNumInputs()}")
    sections = definition.sections()
    for name in write_expanded.OPERATOR_SECTIONS:
        if name not in sections:
            problems.append(f"no {name} section")
    geo = hou.node("/obj").createNode("geo", "billow_check")
    try:
        node = geo.createNode(hda.TYPE_NAME)
        have = {p.name() for p in node.parms()}
        want = {n for p in hda.iter_parms() for n in hda.component_names(p)}
        problems += [f"missing parameter {n}" for n in sorted(want - have)]
        try:
            f2 = node.parm("f2").expression()
        except hou.OperationFailed:
            f2 = None
        if node.parm("source").evalAsString() != "input" or f2 != "$FEND":
            problems.append(f"defaults not as defined (source, f2 expression {f2!r})")
        problems += _cook_once(node)
    finally:
        geo.destroy()
    return problems


def _cook_once(node) -> list:
    """Cook on a cache that does not exist: the PythonCook must run billow_houdini and end in
    its own node error (missing frames, or no engine found), not in a Python traceback."""
    tmp = tempfile.mkdtemp(prefix="billow_check_")
    try:
        node.parm("source").set("file")
        node.parm("incache").set(os.path.join(tmp, "missing.$F4.vdb").replace(os.sep, "/"))
        node.parm("outcache").set(os.path.join(tmp, "out.$F4.vdb").replace(os.sep, "/"))
        try:
            node.cook(force=True)
        except hou.OperationFailed:
            pass
        errors = " | ".join(node.errors())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"build_hda: a cook on a missing cache says: {errors or '(nothing)'}")
    if not errors or "Traceback" in errors:
        return ["the cook did not end in billow's own error (see above)"]
    return []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folder", default=write_expanded.DEFAULT_OUT,
                    help="the expanded asset (default: the committed one)")
    ap.add_argument("--out", default=None,
                    help="default: dist/ with the extension this licence saves (.hda, .hdalc "
                    "Indie, .hdanc Apprentice/Education)")
    ap.add_argument("--check", action="store_true", help="load and check only; write nothing")
    args = ap.parse_args(argv)
    _check_houdini()
    definition = load(args.folder)
    problems = check(definition)
    for problem in problems:
        print(f"build_hda: {problem}")
    if problems:
        return 1
    print(f"build_hda: {args.folder} loads as {hda.TYPE_NAME} and matches hda_definition.py")
    if args.check:
        return 0
    if args.out is None:
        args.out = os.path.join(PACKAGE, hda.hda_file(str(hou.licenseCategory())))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    definition.copyToHDAFile(args.out)
    print(f"build_hda: wrote {args.out} ({hda.TYPE_NAME})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
