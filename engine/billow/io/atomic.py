"""Atomic, verified file writes: write to a temporary name in the target folder, flush it to the
disk, check what was written, then rename, so an interrupted run or a full disk never leaves a
half-written frame under a final name, and never replaces a good frame with a bad one.

Temporary names carry the writer's process id (`.NAME.tmp-PID.ext`): a resume removes those of
processes that are no longer alive (`remove_stale_temporaries`), never those of a live one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time
from pathlib import Path
from typing import Callable

from ..errors import BillowError, InputError, OutputError, shorten

_TMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)(?P<suffix>\.[^.]*)?$")


def temporary_name(path: Path) -> Path:
    # Same folder (rename is atomic only within one file system); the process id keeps two
    # farm tasks writing the same frame from clobbering each other's temporary file.
    return path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")


def check_output_path(path: str | Path) -> Path:
    """An output file name, or a bad option (exit 2): not empty, not an existing folder."""
    text = str(path)
    if not text.strip() or text == ".":
        raise InputError("the output path is empty")
    path = Path(text)
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise InputError(f"{path}: is a folder; give a file name (e.g. {Path(text) / 'out.vdb'})")
    return path


def describe_os_error(e: OSError) -> str:
    """What went wrong with a write, in a few words for a one-line error (a full disk named)."""
    if e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"{e.strerror}: the disk is full or a file size limit was reached"
    return e.strerror or shorten(e)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path, verify: Callable[[Path], None] | None = None,
                durable: bool = True):
    """Yield a temporary path to write; on success it is flushed to disk, checked by
    `verify(tmp)` (which raises on a short or damaged write) and renamed to `path`; on any
    failure (an exception, SIGINT, SIGTERM) it is removed and `path` is left untouched.
    OS errors while writing become `OutputError` (exit 3). `durable=False` skips the fsyncs
    (still all-or-nothing for readers; for throw-away pictures such as previews)."""
    path = check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{path.parent}: cannot create output folder ({e.strerror})") from e
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb"):
            pass  # fail early, with a clear message, if the folder is not writable
    except OSError as e:
        raise OutputError(f"{path}: cannot write ({describe_os_error(e)})") from e
    try:
        try:
            yield tmp
            if durable:
                _fsync(tmp)
            if tmp.stat().st_size == 0:
                raise OutputError(f"{path}: nothing was written (disk full?); the previous "
                                  "file, if any, is kept")
            if verify is not None:
                verify(tmp)
            os.replace(tmp, path)
        except BillowError:
            raise
        except OSError as e:
            raise OutputError(f"{path}: cannot write ({describe_os_error(e)}); the previous file, if "
                              "any, is kept") from e
        if durable:
            _fsync_folder(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True  # cannot tell: keep its files
    return True


def remove_stale_temporaries(folder: str | Path, names: set[str] | None = None, *,
                             min_age: float = 30.0) -> list[Path]:
    """Remove `.NAME.tmp-PID.ext` files in `folder` whose writer process is gone (a kill -9,
    a crashed node); with `names`, only those of these final file names. Files of live
    processes (another farm task writing the same frame) are left alone, and so are files
    modified in the last `min_age` seconds (a writer on another machine sharing the folder,
    whose process id means nothing here)."""
    now = time.time()
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        m = _TMP.match(entry.name)
        if not m or (names is not None and m.group("name") not in names):
            continue
        pid = int(m.group("pid"))
        if pid == os.getpid() or pid_alive(pid) or not entry.is_file():
            continue
        with contextlib.suppress(OSError):
            if now - entry.stat().st_mtime < min_age:
                continue
        with contextlib.suppress(OSError):
            entry.unlink()
            removed.append(entry)
    return removed
