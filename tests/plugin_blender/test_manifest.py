"""The extension package: Blender's own validator accepts the manifest, the built .zip holds the
code and nothing else, and the version follows the engine's."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile

import pytest

from .conftest import PLUGIN, blender_ext_cli


def test_blenders_validator_accepts_the_manifest():
    cli = blender_ext_cli()
    if cli is None:
        pytest.skip("Blender's bpy wheel is not installed (pip install bpy)")
    proc = subprocess.run([sys.executable, str(cli), "validate", str(PLUGIN)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Success" in proc.stdout, proc.stdout + proc.stderr


def test_manifest_fields():
    m = tomllib.loads((PLUGIN / "blender_manifest.toml").read_text())
    assert m["schema_version"] == "1.0.0" and m["type"] == "add-on"
    assert tuple(int(x) for x in m["blender_version_min"].split(".")) >= (4, 2, 0)
    assert set(m["permissions"]) == {"files"}  # no network, no clipboard
    import billow

    assert m["version"] == billow.__version__  # released together with the engine it drives


def test_built_zip_holds_only_the_extension(extension_zip):
    names = set(zipfile.ZipFile(extension_zip).namelist())
    assert {"blender_manifest.toml", "__init__.py", "operators.py", "core/job.py",
            "vendor/billow_client.py"} <= names  # the vendored engine client travels along
    assert not [n for n in names if n.startswith("docs/") or "__pycache__" in n
                or n.endswith(".pyc")], names


# The Blender Extensions Platform's accepted licences for add-ons (docs.blender.org/manual/en/
# latest/advanced/extensions/licenses.html): the GPL family first, then a few permissive ones.
PLATFORM_LICENSES = {"SPDX:GPL-2.0-or-later", "SPDX:GPL-3.0-or-later",
                     "SPDX:LGPL-2.1-or-later", "SPDX:LGPL-3.0-or-later", "SPDX:BSD-1-Clause",
                     "SPDX:BSD-2-Clause", "SPDX:BSD-3-Clause", "SPDX:BSL-1.0", "SPDX:MIT",
                     "SPDX:MIT-0", "SPDX:MPL-2.0", "SPDX:Pixar", "SPDX:Zlib"}


def test_license_is_one_the_extensions_platform_accepts():
    m = tomllib.loads((PLUGIN / "blender_manifest.toml").read_text())
    assert m["license"] == ["SPDX:GPL-3.0-or-later"]
    assert set(m["license"]) <= PLATFORM_LICENSES
