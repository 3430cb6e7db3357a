"""The public API in `billow/__init__.py`: the main entry points without deep imports, and an
`import billow` that stays light (no torch, ONNX Runtime or OpenVDB until a name needs them)."""

from __future__ import annotations

import subprocess
import sys


def test_import_billow_loads_no_heavy_module():
    code = ("import sys, billow\n"
            "heavy = [m for m in ('torch', 'onnxruntime', 'openvdb', 'pyopenvdb', 'cv2')"
            " if m in sys.modules]\n"
            "assert not heavy, heavy")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_public_names_are_the_library_objects():
    import billow
    from billow.baselines import METHODS, make_baseline
    from billow.infer.runner import upres_sequence
    from billow.train.trainer import Trainer
    from billow.uv.model import UVModel

    assert billow.upres_sequence is upres_sequence
    assert billow.Trainer is Trainer
    assert billow.UVModel is UVModel
    assert billow.make_baseline is make_baseline and billow.BASELINES == METHODS
    for name in billow.__all__:  # every advertised name resolves
        assert getattr(billow, name) is not None, name
    assert set(billow.__all__) <= set(dir(billow))


def test_unknown_names_still_raise_attribute_error():
    import billow

    try:
        billow.no_such_name  # noqa: B018
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:
        raise AssertionError("billow.no_such_name resolved")
