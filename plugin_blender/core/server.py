"""The warm engine: one `billow serve` process, started once, reused by Preview, the live preview
and re-runs, so a one-frame preview costs its compute and not the engine's start-up.

`EngineServer` owns the process and its JSON-lines protocol (see `billow serve --help` and
engine/billow/commands/serve.py): requests are the same `billow upres` command lines a cold run
uses, and a request's progress arrives as the same `--progress json` events (tagged with the
request's id), read by the same `progress.parse_line` and folded into the same `Status`.
`ServerJob` gives one request the interface of `job.EngineJob` (start, status snapshots,
cancel, wait), so the operators run a preview or a whole sequence either way. Cancelling sends
`{"op": "cancel", "id": N}`: only that request stops (the engine removes the frame it was
writing; finished frames stay) and the engine stays warm. Plain Python, no `bpy`.

The server ends when its stdin closes: when Blender quits (even when it crashes) the pipe
closes and the engine exits by itself.
"""

from __future__ import annotations

import collections
import itertools
import json
import subprocess
import threading
import time

from .command import engine_env, popen_kwargs
from .progress import Status, engine_error, parse_line


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
        self._listeners: dict[int, object] = {}  # request id -> callable(event)
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
            if not line.strip():
                continue
            event = parse_line(line)
            kind, rid = event["event"], event.get("id")
            if kind == "log" or (kind != "ready" and not isinstance(rid, int)):
                continue  # not a protocol line
            with self._cond:
                if kind == "ready":
                    self._ready = True
                elif kind == "result":
                    self._listeners.pop(rid, None)
                    self._results[rid] = event
                else:  # the request's progress
                    listener = self._listeners.get(rid)
                    if listener is not None:
                        listener(event)
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

    def submit(self, argv: list[str], on_event=None) -> int:
        """Send one `upres ...` command line (without the executable); its request id.
        `on_event(event)` gets the request's progress events (on the reader thread)."""
        if not self.alive:
            raise ServerError(f"the warm engine is not running ({self._dead or 'not started'})")
        rid = next(self._ids)
        if on_event is not None:
            with self._cond:
                self._listeners[rid] = on_event
        try:
            self._send({"id": rid, "argv": [str(a) for a in argv]})
        except ServerError:
            with self._cond:
                self._listeners.pop(rid, None)
            raise
        return rid

    def _send(self, obj: dict) -> None:
        try:
            with self._write_lock:
                self.proc.stdin.write(json.dumps(obj) + "\n")
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as e:
            raise ServerError(f"the warm engine stopped ({self._dead or e})") from e

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

    def cancel(self, rid: int) -> None:
        """Stop request `rid` (running or queued); the server stays up and answers it with
        `"cancelled": true`."""
        if not self.alive:
            return
        try:
            self._send({"op": "cancel", "id": rid})
        except ServerError:
            pass  # it stopped: `result` answers for the request

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
    """One upres request (a preview frame or a whole sequence) on an `EngineServer`, with
    `EngineJob`'s interface; its progress events update `status` as a cold run's do."""

    via = "warm engine"  # what the panel says ran it

    def __init__(self, server: EngineServer, argv: list[str]):
        self.server, self.argv = server, list(argv)
        self.status = Status()
        self._rid: int | None = None
        self._cancelled = threading.Event()

    def start(self) -> ServerJob:
        self.status.set(state="running")
        try:
            self._rid = self.server.submit(self.argv, on_event=self.status.apply)
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
            frames = int(answer.get("frames", 0))
            total = max(self.status.snapshot().total, frames)
            self.status.set(state="done", done=frames, total=total, elapsed=elapsed)
        else:
            self.status.set(state="failed", error=str(answer.get("error", "unknown error")),
                            returncode=answer.get("exit_code"))

    def cancel(self, wait: bool = True) -> None:
        if self._rid is None or self.status.snapshot().finished:
            return
        self._cancelled.set()
        self.status.set(state="cancelling")
        self.server.cancel(self._rid)
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
