"""Atomic file writes: write to a temporary name in the target folder, then rename, so an
interrupted run never leaves a half-written frame that a resume would mistake for a done one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..errors import OutputError


def temporary_name(path: Path) -> Path:
    # Same folder (rename is atomic only within one file system); the process id keeps two
    # farm tasks writing the same frame from clobbering each other's temporary file.
    return path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path to write; on success it is renamed to `path`, on failure removed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{path.parent}: cannot create output folder ({e.strerror})") from e
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb"):
            pass  # fail early, with a clear message, if the folder is not writable
    except OSError as e:
        raise OutputError(f"{path}: cannot write ({e.strerror})") from e
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
