"""Run the real `billow` CLI in a subprocess, as users and DCC add-ons do."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass


@dataclass
class Result:
    code: int
    out: str
    err: str


def billow(*args: str, timeout: float = 300) -> Result:
    proc = subprocess.run([sys.executable, "-m", "billow", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def billow_here(*args: str) -> Result:
    """The same CLI run in this process (faster; for the many bad-input cases)."""
    import contextlib
    import io

    from billow.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Result(code, out.getvalue(), err.getvalue())


def assert_one_line_error(result: Result, code: int, *fragments: str) -> None:
    assert result.code == code, (result.code, result.err)
    # progress lines may come first (log mode); the error is one line, the last, no traceback
    errors = [line for line in result.err.strip().splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in result.err, result.err
    assert result.err.strip().splitlines()[-1] == errors[0]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
