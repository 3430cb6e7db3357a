"""Run the engine as a subprocess and follow its progress. Plain Python, no `hou`.

The host passes one callback, `report(state)`, called for every progress event and every
`tick` seconds in between. To cancel, the callback raises (inside Houdini,
`hou.InterruptableOperation.updateLongProgress` raises `hou.OperationInterrupted` when the
artist presses Esc) or `should_cancel()` returns True: the engine is asked to stop (SIGTERM, then
killed after `grace` seconds) and the exception propagates. Frames are written atomically by
the engine, so a cancelled run leaves only whole frames and resumes with --skip-existing.
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .vendor.billow_client import (ProgressReader, ProgressState, engine_env, popen_kwargs,
                                   stop)
from .errors import EngineCancelled, error_from_exit, error_from_launch


@dataclass
class RunResult:
    argv: list[str]
    state: ProgressState
    stderr: str
    seconds: float


def _pump(stream, tag: str, out: "queue.Queue") -> None:
    for line in iter(stream.readline, ""):
        out.put((tag, line))
    out.put((tag, None))


def run_engine(argv: list[str], report: Callable[[ProgressState], None] | None = None,
               should_cancel: Callable[[], bool] | None = None, *, tick: float = 0.1,
               grace: float = 5.0, env: dict | None = None, cwd: str | None = None) -> RunResult:
    """Run `argv` to the end; raise `EngineError` on failure, `EngineCancelled` on cancel, or
    whatever `report` raised (after stopping the engine)."""
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, bufsize=1,
                                env=engine_env() if env is None else env, cwd=cwd,
                                **popen_kwargs())
    except OSError as e:
        raise error_from_launch(e, argv) from e
    lines: queue.Queue = queue.Queue()
    readers = [threading.Thread(target=_pump, args=(proc.stdout, "out", lines), daemon=True),
               threading.Thread(target=_pump, args=(proc.stderr, "err", lines), daemon=True)]
    for t in readers:
        t.start()
    reader, stderr, open_streams = ProgressReader(), [], 2
    try:
        while open_streams:
            try:
                tag, line = lines.get(timeout=tick)
            except queue.Empty:
                tag, line = None, None
            if tag is not None and line is None:
                open_streams -= 1
            elif tag == "out":
                reader.feed(line)
            elif tag == "err":
                stderr.append(line)
            if should_cancel is not None and should_cancel():
                stop(proc, grace)
                raise EngineCancelled("cancelled; finished frames are kept (re-run to resume)",
                                      None, "".join(stderr[-20:]), argv)
            if report is not None:
                report(reader.state)
        code = proc.wait()
    except BaseException:
        stop(proc, grace)
        raise
    finally:
        for t in readers:  # the process is gone, so both pipes reach EOF promptly
            t.join(timeout=grace)
        for stream in (proc.stdout, proc.stderr):
            stream.close()
    err = "".join(stderr)
    if code != 0:
        raise error_from_exit(code, err, argv)
    return RunResult(argv, reader.state, err, time.perf_counter() - start)
