"""`billow serve`: a warm engine for DCC add-ons. One process stays up with its models loaded and
runs `billow upres` requests sent as JSON lines on stdin, so a one-frame preview or a re-run of a
sequence costs only its compute, not the interpreter, torch and ONNX Runtime start-up and the
model load (seconds).

Protocol (one JSON object per line; stdout carries only these lines, logs go to stderr):

    <- {"event": "ready", "version": "0.1.0"}                    once, after --model is loaded
    -> {"id": 7, "argv": ["upres", IN, OUT, "--frames", "1-48", "--velocity-scale", "2", ...]}
    <- {"event": "start", "total": 48, "task": "upres", "id": 7}      the request's progress:
    <- {"event": "frame", "frame": 1, "done": 1, ..., "id": 7}        the `--progress json`
    <- {"event": "summary", "frames": 48, ..., "id": 7}               lines of a cold run,
    <- {"event": "result", "id": 7, "ok": true, "frames": 48, "elapsed": 95.1}    with its id
    <- {"event": "result", "id": 8, "ok": false, "error": "IN: ...", "exit_code": 2}
    -> {"op": "cancel", "id": 7}                                       read at any time
    <- {"event": "result", "id": 7, "ok": false, "cancelled": true, "error": "cancelled", ...}

A request's `argv` is exactly the command line of a cold `billow upres` run (without the
executable), parsed by the same parser and run by the same `upres.run` (checks, frames, resume
with --skip-existing, --preview, the summary), with the network taken from the warm cache: one
contract, two ways to run it. Progress is always `--progress json` (stdout is the protocol), each
event tagged with the request's `id`; anything else printed on stdout during a request goes to
stderr. Models (backends) are kept per model file, backend, device, precision and threads, and
reloaded when the model or its card changes.

Requests run one at a time, in order. `{"op": "cancel", "id": N}` stops request N: the running
one is interrupted (inside a frame too: the frame being written is removed, frames already
written stay, as when a cold run is interrupted) and answered `"cancelled": true`; a queued one
is answered so without running. An interrupt (SIGINT) cancels the running request only. End of
input or `{"op": "shutdown"}` ends the server after the requests sent before it; a DCC that
quit or died (stdout closed) ends it at the request's next progress line, as it ends a cold run.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from ..errors import BillowError

MAX_MODELS = 3


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="keep the engine warm for a DCC: upres requests as JSON lines on stdin",
        description="A warm engine for DCC add-ons: reads `billow upres` command lines as JSON "
        "lines on stdin, streams their `--progress json` events and one result line each on "
        "stdout, keeping models loaded between requests; {\"op\": \"cancel\", \"id\": N} "
        "stops request N. Ends at end of input.")
    p.add_argument("--model", default=None,
                   help="load this model before answering `ready` (default: the shipped one)")
    p.add_argument("--backend", choices=("onnxruntime", "torch"), default="onnxruntime")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    p.add_argument("--no-preload", action="store_true",
                   help="answer `ready` at once and load models on the first request")
    p.set_defaults(run=run)


class _Models:
    """Loaded backends, most recently used last."""

    def __init__(self):
        self._items: dict[tuple, object] = {}

    def backend(self, card, backend: str, device: str, precision: str, threads: int):
        """`make_backend`'s signature (what `upres.run` takes), from the cache when the model
        file and its card are unchanged."""
        from ..infer import make_backend
        from ..io.model_card import card_path

        path = Path(card.path).resolve()
        stamps = tuple(f.stat().st_mtime_ns if f.exists() else 0
                       for f in (path, card_path(path)))
        key = (str(path), stamps, backend, device, precision, threads)
        if key in self._items:
            self._items[key] = self._items.pop(key)
            return self._items[key]
        made = make_backend(card, backend, device, precision, threads)
        self._items[key] = made
        while len(self._items) > MAX_MODELS:
            self._items.pop(next(iter(self._items)))
        return made


class _ParseError(Exception):
    pass


def _parse(argv: list):
    """The request's command line, parsed by `billow upres`'s own parser; errors raise."""
    import argparse

    from . import upres

    if not argv or argv[0] != "upres":
        raise _ParseError("only `upres` requests are served")

    def fail(message):
        raise _ParseError(message)

    parser = argparse.ArgumentParser(prog="billow")
    subs = parser.add_subparsers(dest="command", required=True)
    upres.add_parser(subs)
    for p in (parser, *subs.choices.values()):
        p.error = fail  # argparse would exit the server
    try:
        return parser.parse_args([str(a) for a in argv])
    except SystemExit as e:  # --help
        raise _ParseError("--help is not served") from e


class _RequestStdout(io.TextIOBase):
    """`sys.stdout` while a request runs: its `--progress json` lines go on to the protocol with
    the request's id; anything else (a library's stray print) goes to stderr, so stdout keeps
    carrying protocol lines only."""

    def __init__(self, server: _Server, rid):
        self.server, self.rid = server, rid
        self.frames = 0
        self._buf = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self._line(line)
        return len(text)

    def _line(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            if event["event"] == "summary":
                self.frames = int(event.get("frames") or 0)
            self.server.send({**event, "id": self.rid})
        elif line.strip():
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


class _ClientGone(BaseException):
    """stdout is closed: the DCC quit or died. Not an `Exception`, so no handler takes it for
    a failed request; it ends the server (the frame being written is removed on the way out,
    like a cold run that loses its pipe)."""


class _Server:
    """The request queue, the protocol's stdout, and cancelling the running request.

    A reader thread takes stdin: a cancel acts at once, everything else is queued for the main
    thread, which runs requests one at a time and alone writes stdout. Stopping the running
    request is an interrupt of the main thread (a real SIGINT where a thread can be targeted,
    so a wait on the frame being read ends too). It becomes a KeyboardInterrupt only inside
    that request's run and never in the middle of a protocol line; anywhere else it is kept as
    `stop` and raised at the next safe point."""

    def __init__(self, out):
        self.out = out
        self.requests: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.running = None     # id of the request being computed (None: idle)
        self.armed = False      # inside that request's run: an interrupt may raise
        self.stop = False       # an interrupt for the running request, not raised yet
        self.sending = False    # inside a protocol line
        self.queued: set = set()
        self.cancelled: set = set()  # queued ids cancelled before they ran
        self._target = None     # the id a pending interrupt is meant for
        self._main = threading.main_thread().ident

    # -- main thread ---------------------------------------------------------------------------
    def send(self, obj: dict) -> None:
        self.sending = True
        try:
            self.out.write(json.dumps(obj) + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError) as e:
            raise _ClientGone from e
        finally:
            self.sending = False
        self._raise_if_stopped()

    def answer(self, **fields) -> None:
        self.send({"event": "result", **fields})

    def _raise_if_stopped(self) -> None:
        if self.stop and self.armed:
            self.stop = self.armed = False
            raise KeyboardInterrupt

    def on_interrupt(self, signum, frame) -> None:
        """The SIGINT handler (a cancel from the reader thread, or a terminal's Ctrl+C)."""
        target, self._target = self._target, None
        if self.running is None or (target is not None and target != self.running):
            return  # between requests, or meant for a request that has already ended
        self.stop = True
        if not self.sending:
            self._raise_if_stopped()

    # -- reader thread -------------------------------------------------------------------------
    def _interrupt(self, rid) -> None:
        self._target = rid
        if hasattr(signal, "pthread_kill"):
            signal.pthread_kill(self._main, signal.SIGINT)
        else:
            import _thread

            _thread.interrupt_main()

    def cancel(self, rid) -> None:
        with self.lock:
            if rid is not None and rid == self.running:
                self._interrupt(rid)
            elif rid in self.queued:
                self.cancelled.add(rid)

    def read(self, stdin) -> None:
        for line in stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except ValueError:
                request = line
            if isinstance(request, dict) and request.get("op") == "cancel":
                self.cancel(request.get("id"))
                continue
            if isinstance(request, dict):
                with self.lock:
                    self.queued.add(request.get("id"))
            self.requests.put(request)
        self.requests.put(None)  # end of input: the requests already sent run, then it ends

    # -- main thread ---------------------------------------------------------------------------
    def handle(self, request, models: _Models) -> bool:
        """One queued request; False when the server should stop."""
        if not isinstance(request, dict):
            error = (f"not a JSON line: {request.strip()[:80]!r}" if isinstance(request, str)
                     else "a request is a JSON object")
            self.answer(id=None, ok=False, error=error, exit_code=2)
            return True
        rid = request.get("id")
        with self.lock:
            self.queued.discard(rid)
            skip = rid in self.cancelled and "op" not in request
            self.cancelled.discard(rid)
            if not skip and "op" not in request:
                self.running, self.stop = rid, False
        if skip:
            self.answer(id=rid, ok=False, cancelled=True, error="cancelled", exit_code=130)
            return True
        if request.get("op") == "shutdown":
            self.answer(id=rid, ok=True, frames=0, elapsed=0.0)
            return False
        if request.get("op") == "ping":
            self.answer(id=rid, ok=True, frames=0, elapsed=0.0)
            return True
        start = time.perf_counter()
        out = _RequestStdout(self, rid)
        fields = {}
        try:
            self.armed = True
            self._raise_if_stopped()  # a cancel that came before the run began
            args = _parse(request.get("argv") or [])
            args.progress = "json"
            with contextlib.redirect_stdout(out):
                _run_upres(args, models)
            self.armed = False
            fields = {"ok": True, "frames": out.frames,
                      "elapsed": round(time.perf_counter() - start, 3)}
        except KeyboardInterrupt:
            fields = {"ok": False, "cancelled": True, "error": "cancelled", "exit_code": 130}
        except _ParseError as e:
            fields = {"ok": False, "error": str(e), "exit_code": 2}
        except BillowError as e:
            fields = {"ok": False, "error": str(e), "exit_code": e.exit_code}
        except Exception as e:  # a bug: keep serving, the traceback goes to stderr
            traceback.print_exc(file=sys.stderr)
            fields = {"ok": False, "error": f"{type(e).__name__}: {e}", "exit_code": 1}
        finally:
            self.armed = False
            with self.lock:
                self.running, self.stop = None, False
        self.answer(id=rid, **fields)
        return True


def _run_upres(args, models: _Models) -> None:
    """`billow upres` itself (commands/upres.py), with the network from the warm cache."""
    from . import upres

    upres.run(args, backend_for=models.backend)


def run(args) -> int:
    from .._version import __version__
    from ..infer import load_card
    from ..infer.models import default_model

    server = _Server(sys.stdout)
    models = _Models()
    signal.signal(signal.SIGINT, server.on_interrupt)
    if not args.no_preload:
        from ..infer import runner, upres  # noqa: F401  (torch and the runner, warmed up)

        models.backend(load_card(args.model or default_model()), args.backend, args.device,
                       "fp32", args.threads)
    server.send({"event": "ready", "version": __version__})
    threading.Thread(target=server.read, args=(sys.stdin,), daemon=True,
                     name="billow-serve-stdin").start()
    try:
        while True:
            request = server.requests.get()
            if request is None or not server.handle(request, models):
                return 0
    except _ClientGone:
        return 0
