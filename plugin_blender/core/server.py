"""The warm engine: one `billow serve` process, started once, reused by Preview, the live preview
and re-runs, so a one-frame preview costs its compute and not the engine's start-up.

`EngineServer` owns the process and its JSON-lines protocol (see `billow serve --help` and
engine/billow/commands/serve.py): requests are the same `billow upres` command lines a cold run
uses. `ServerJob` gives one request the interface of `job.EngineJob` (start, status snapshots,
cancel, wait), so the operators run either the same way. Plain Python, no `bpy`.

The server ends when its stdin closes: when Blender quits (even when it crashes) the pipe
closes and the engine exits by itself.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time

from .command import engine_env, popen_kwargs
from .progress import Status, engine_error


class ServerError(RuntimeError):
    """The warm engine could not start or stopped; the message has the engine's own error."""


class EngineServer:
    """A `billow serve` subprocess. Thread-safe; never blocks the caller except in `wait`."""

    def __init__(self, prefix: list[str], serve_args: tuple[str, ...] = (),
                 env: dict | None = None):
        self.prefix, self.serve_args = list(prefix), tuple(serve_args)
        self.env = engine_env() if env is None else env
        self.proc: subprocess.Popen | None = None
        self._ids = itertools.count(1)
        self._results: dict[int, dict] = {}
        self._cond = threading.Condition()
        self._ready = False
        self._dead = ""
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        self._write_lock = threading.Lock()
        self.started_at = 0.0

    @property
    def key(self) -> tuple:
        return (tuple(self.prefix), self.serve_args)

    def start(self) -> EngineServer:
        self.started_at = time.perf_counter()
        try:
            self.proc = subprocess.Popen(
                [*self.prefix, "serve", *self.serve_args], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                env=self.env, **popen_kwargs())
        except OSError as e:
            raise ServerError(f"{self.prefix[0]}: cannot run the engine ({e.strerror or e})") from e
        threading.Thread(target=self._read_stderr, daemon=True, name="billow-serve-err").start()
        threading.Thread(target=self._read_stdout, daemon=True, name="billow-serve-out").start()
        return self

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a stray print from a library
            if not isinstance(event, dict):
                continue
            with self._cond:
                if event.get("event") == "ready":
                    self._ready = True
                elif event.get("event") == "result" and isinstance(event.get("id"), int):
                    self._results[event["id"]] = event
                self._cond.notify_all()
        rc = self.proc.wait()
        time.sleep(0.05)  # let the stderr reader take the last lines
        with self._cond:
            self._dead = engine_error(list(self._stderr), rc)
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and not self._dead

    @property
    def ready(self) -> bool:
        return self._ready and self.alive

    def submit(self, argv: list[str]) -> int:
        """Send one `upres ...` command line (without the executable); its request id."""
        if not self.alive:
            raise ServerError(f"the warm engine is not running ({self._dead or 'not started'})")
        rid = next(self._ids)
        text = json.dumps({"id": rid, "argv": [str(a) for a in argv]}) + "\n"
        try:
            with self._write_lock:
                self.proc.stdin.write(text)
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as e:
            raise ServerError(f"the warm engine stopped ({self._dead or e})") from e
        return rid

    def result(self, rid: int) -> dict | None:
        """The answer to request `rid`, or None while it runs; a stopped engine answers for it."""
        with self._cond:
            if rid in self._results:
                return self._results.pop(rid)
            if self._dead:
                return {"event": "result", "id": rid, "ok": False,
                        "error": f"the warm engine stopped: {self._dead}"}
        return None

    def wait(self, rid: int, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while rid not in self._results and not self._dead:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return {"event": "result", "id": rid, "ok": False,
                            "error": f"no answer within {timeout:.0f} s"}
                self._cond.wait(left)
        return self.result(rid)

    def wait_ready(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._ready and not self._dead:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return self._ready and not self._dead

    def interrupt(self) -> None:
        """Cancel the request being computed (the server stays up)."""
        if not self.alive:
            return
        try:
            if sys.platform == "win32":
                self.proc.send_signal(signal.CTRL_BREAK_EVENT)
            else:
                os.killpg(self.proc.pid, signal.SIGINT)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self, timeout: float = 5.0) -> None:
        """End the server: close its input (it exits), kill it if it does not."""
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ServerJob:
    """One upres request on an `EngineServer`, with `EngineJob`'s interface."""

    def __init__(self, server: EngineServer, argv: list[str]):
        self.server, self.argv = server, list(argv)
        self.status = Status()
        self._rid: int | None = None
        self._cancelled = threading.Event()

    def start(self) -> ServerJob:
        self.status.set(state="running", total=1)
        try:
            self._rid = self.server.submit(self.argv)
        except ServerError as e:
            self.status.set(state="failed", error=str(e))
            return self
        threading.Thread(target=self._watch, daemon=True, name="billow-serve-job").start()
        return self

    def _watch(self) -> None:
        t0 = time.perf_counter()
        answer = self.server.wait(self._rid)
        elapsed = float(answer.get("elapsed", time.perf_counter() - t0))
        if self._cancelled.is_set() or answer.get("cancelled"):
            self.status.set(state="cancelled", elapsed=elapsed)
        elif answer.get("ok"):
            frames = int(answer.get("frames", 1))
            self.status.set(state="done", done=frames, total=max(frames, 1), elapsed=elapsed)
        else:
            self.status.set(state="failed", error=str(answer.get("error", "unknown error")),
                            returncode=answer.get("exit_code"))

    def cancel(self, wait: bool = True) -> None:
        if self._rid is None or self.status.snapshot().finished:
            return
        self._cancelled.set()
        self.status.set(state="cancelling")
        self.server.interrupt()
        if wait:
            self.wait(timeout=30)

    def wait(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.status.snapshot().finished:
            if deadline is not None and time.monotonic() > deadline:
                self.status.set(state="failed", error=f"no result within {timeout:.0f} s")
                break
            time.sleep(0.02)
        return self.status.snapshot()
