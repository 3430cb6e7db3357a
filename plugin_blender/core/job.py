"""The engine as a worker subprocess: started, polled (never blocking the caller), cancelled.

A reader thread turns stdout's `--progress json` lines into `Status` updates and keeps a tail of
stderr for the error message; the caller (Blender's modal operator on a timer, or a test) only
reads `Status` snapshots. Cancelling asks the engine to stop (SIGTERM; the engine removes the
temporary file of the frame it is writing), then kills after a grace period, then removes any
stray temporary files of the output pattern: finished frames stay (a re-run resumes with
--skip-existing), a partial frame never appears under a final name (the engine writes each
frame to `.NAME.tmp-PID.vdb` and renames it).
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..vendor.billow_client import cancel_signal, send_signal
from .command import engine_env, popen_kwargs
from .progress import Status, engine_error, parse_line


def stray_temporaries(output_pattern: str, pid: int | None = None) -> list[Path]:
    """Temporary files the engine may leave for this output pattern (`.NAME.tmp-PID.vdb`);
    with `pid`, only that engine process's (never another live writer's)."""
    p = Path(output_pattern)
    if not p.parent.is_dir():
        return []
    head = p.name.split("#", 1)[0]
    mark = ".tmp-" if pid is None else f".tmp-{pid}."
    return [e for e in p.parent.iterdir()
            if e.name.startswith("." + head) and mark in e.name and e.is_file()]


class EngineJob:
    """One engine run. `start()`, then `status.snapshot()` as often as you like; `wait()` for a
    synchronous run; `cancel()` from any thread."""

    via = "new engine process"  # what the panel says ran it

    def __init__(self, argv: list[str], output_pattern: str = "", grace: float = 3.0,
                 env: dict | None = None):
        self.argv, self.output_pattern, self.grace = list(argv), output_pattern, grace
        self.env = engine_env() if env is None else env
        self.status = Status()
        self.proc: subprocess.Popen | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        self._cancelled = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> EngineJob:
        self.status.set(state="running")
        try:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         stdin=subprocess.DEVNULL, text=True, bufsize=1,
                                         env=self.env, **popen_kwargs())
        except OSError as e:
            self.status.set(state="failed", error=f"{self.argv[0]}: cannot run the engine "
                            f"({e.strerror or e})")
            return self
        err = threading.Thread(target=self._read_stderr, daemon=True, name="billow-stderr")
        out = threading.Thread(target=self._read_stdout, daemon=True, name="billow-stdout")
        self._threads = [err, out]
        err.start()
        out.start()
        return self

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            if line.strip():
                self.status.apply(parse_line(line))
        rc = self.proc.wait()
        self._threads[0].join(timeout=5)
        if self._cancelled.is_set():
            self._cleanup()
            self.status.set(state="cancelled", returncode=rc)
        elif rc == 0:
            self.status.set(state="done", returncode=rc)
        else:
            self.status.set(state="failed", returncode=rc,
                            error=engine_error(list(self._stderr), rc))

    def _cleanup(self) -> None:
        if self.output_pattern:
            for path in stray_temporaries(self.output_pattern, self.proc.pid):
                try:
                    path.unlink()
                except OSError:
                    pass  # already renamed or removed by the engine

    def _signal(self, sig) -> None:
        if self.proc is not None:
            send_signal(self.proc, sig)

    def cancel(self, wait: bool = True) -> None:
        """Stop the engine: interrupt, kill after the grace period, remove temporaries."""
        if self.proc is None or self.status.snapshot().finished:
            return
        self._cancelled.set()
        self.status.set(state="cancelling")
        self._signal(cancel_signal())
        if not wait:
            threading.Thread(target=self._reap, daemon=True).start()
            return
        self._reap()

    def _reap(self) -> None:
        try:
            self.proc.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL if sys.platform != "win32" else signal.SIGTERM)
            self.proc.wait()
        self.join()

    def join(self, timeout: float | None = None) -> None:
        for t in self._threads:
            t.join(timeout)

    def wait(self, timeout: float | None = None):
        """Block until the engine ends (for scripts, tests and batch use); the final snapshot."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.status.snapshot().finished:
            if deadline is not None and time.monotonic() > deadline:
                self.cancel()
                self.status.set(state="failed", error=f"no result within {timeout:.0f} s")
                break
            time.sleep(0.05)
        return self.status.snapshot()
