"""The Open Job Description template runs end to end with the `openjd` CLI's local runner."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import billow

TEMPLATE = Path(billow.__file__).parent / "farm" / "openjd" / "billow_upres.yaml"


def test_template_validates():
    openjd = shutil.which("openjd") or pytest.skip("openjd-cli is not installed")
    proc = subprocess.run([openjd, "check", str(TEMPLATE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_chunked_job_runs_locally(smoke_seq, toy_model, tmp_path):
    openjd = shutil.which("openjd") or pytest.skip("openjd-cli is not installed")
    exe = Path(sys.executable).parent / "billow"
    out = tmp_path / "farm" / "hi.####.vdb"
    proc = subprocess.run(
        [openjd, "run", str(TEMPLATE), "--step", "Upres",
         "-p", f"InputPattern={smoke_seq}", "-p", f"OutputPattern={out}",
         "-p", "Frames=1-4", "-p", "ChunkSize=3", "-p", f"Model={toy_model}",
         "-p", f"BillowCommand={exe}"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in out.parent.iterdir()) == [f"hi.{f:04d}.vdb" for f in (1, 2, 3, 4)]
    # two chunks: frames 1-3 and 4
    assert "Chunks run: 2" in proc.stdout
