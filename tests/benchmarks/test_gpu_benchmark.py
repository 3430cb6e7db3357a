"""`benchmarks/gpu_benchmark.py` (issue 20): on a machine without CUDA it must say why it skips
and exit 0, not fail or pretend; on a CUDA machine the same command measures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_benchmark.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present: the script measures")
def test_gpu_benchmark_skips_with_a_reason_without_cuda():
    out = subprocess.run([sys.executable, str(SCRIPT), "--json", "unused.json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_benchmark: skipped: no CUDA device")
    assert not Path("unused.json").exists()
