"""Where OpenVDB comes from, and the message when it is nowhere."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from billow.io.openvdb_module import describe, openvdb
from billow.samples import PLUME


def test_official_module_is_found():
    vdb = openvdb()
    assert hasattr(vdb, "FloatGrid") and hasattr(vdb, "readAllGridMetadata")
    assert describe().startswith("OpenVDB ")


def test_missing_openvdb_gives_an_install_hint():
    script = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("openvdb", "pyopenvdb", "bpy"):
                    raise ModuleNotFoundError(f"No module named {name!r}")
        sys.meta_path.insert(0, Block())
        from billow.cli import main
        sys.exit(main(["info", sys.argv[1]]))
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(PLUME)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "OpenVDB Python module not found" in proc.stderr and "pip install" in proc.stderr
    assert "Traceback" not in proc.stderr
