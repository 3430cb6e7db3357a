"""`billow serve`: a warm engine for DCC add-ons. One process stays up with its models loaded and
runs `billow upres` requests sent as JSON lines on stdin, so a one-frame preview costs only its
compute, not the interpreter, torch and ONNX Runtime start-up and the model load (seconds).

Protocol (one JSON object per line; stdout carries only these lines, logs go to stderr):

    <- {"event": "ready", "version": "0.1.0"}                    once, after --model is loaded
    -> {"id": 7, "argv": ["upres", IN, OUT, "--frames", "12", "--velocity-scale", "2", ...]}
    <- {"event": "result", "id": 7, "ok": true, "frames": 1, "elapsed": 0.41}
    <- {"event": "result", "id": 8, "ok": false, "error": "IN: ...", "exit_code": 2}

A request's `argv` is exactly the command line of a cold `billow upres` run (without the
executable), parsed by the same parser: one contract, two ways to run it. `--progress` is
ignored (stdout is the protocol). Models (backends) are kept per model file, backend, device,
precision and threads, and reloaded when the file changes. An interrupt (SIGINT) during a request
cancels that request only (`"cancelled": true`); end of input (the DCC closed the pipe or died)
or `{"op": "shutdown"}` ends the server.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from ..errors import BillowError

MAX_MODELS = 3


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="keep the engine warm for a DCC: upres requests as JSON lines on stdin",
        description="A warm engine for DCC add-ons: reads `billow upres` command lines as JSON "
        "lines on stdin and answers one JSON line each on stdout, keeping models loaded between "
        "requests. Ends at end of input.")
    p.add_argument("--model", default=None,
                   help="load this model before answering `ready` (default: the shipped one)")
    p.add_argument("--backend", choices=("onnxruntime", "torch"), default="onnxruntime")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    p.add_argument("--no-preload", action="store_true",
                   help="answer `ready` at once and load models on the first request")
    p.set_defaults(run=run)


class _Models:
    """Loaded (card, backend) pairs, most recently used last."""

    def __init__(self):
        self._items: dict[tuple, tuple] = {}

    def get(self, model: str, backend: str, device: str, precision: str, threads: int):
        from ..infer import load_card, make_backend

        path = Path(model).resolve()
        stamp = path.stat().st_mtime_ns if path.exists() else 0
        key = (str(path), stamp, backend, device, precision, threads)
        if key in self._items:
            self._items[key] = self._items.pop(key)
            return self._items[key]
        card = load_card(model)
        pair = (card, make_backend(card, backend, device, precision, threads))
        self._items[key] = pair
        while len(self._items) > MAX_MODELS:
            self._items.pop(next(iter(self._items)))
        return pair


def _upres(args, models: _Models) -> int:
    """`billow upres` (commands/upres.py) with the model taken from the warm cache."""
    from ..config import from_args
    from ..farm import select_chunk
    from ..infer import UpresConfig, upres_sequence
    from ..infer.models import default_model
    from ..io import ReadOptions
    from .common import input_output_frames

    card, backend = models.get(args.model or default_model(), args.backend, args.device,
                               args.precision, args.threads)
    cfg = from_args(UpresConfig, args)
    opt = from_args(ReadOptions, args)
    jobs = select_chunk(input_output_frames(args.input, args.output, args.frames),
                        args.chunk, args.chunk_index)
    return upres_sequence(jobs, backend, card, cfg, opt, progress_mode="none",
                          skip_existing=args.skip_existing,
                          settings={"billow_backend": backend.name,
                                    "billow_device": args.device,
                                    "billow_precision": args.precision})


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


def _answer(**fields) -> None:
    sys.stdout.write(json.dumps({"event": "result", **fields}) + "\n")
    sys.stdout.flush()


def _handle(line: str, models: _Models) -> bool:
    """One request; False when the server should stop."""
    try:
        request = json.loads(line)
    except ValueError:
        _answer(id=None, ok=False, error=f"not a JSON line: {line[:80]!r}", exit_code=2)
        return True
    if not isinstance(request, dict):
        _answer(id=None, ok=False, error="a request is a JSON object", exit_code=2)
        return True
    rid = request.get("id")
    if request.get("op") == "shutdown":
        _answer(id=rid, ok=True, frames=0, elapsed=0.0)
        return False
    if request.get("op") == "ping":
        _answer(id=rid, ok=True, frames=0, elapsed=0.0)
        return True
    start = time.perf_counter()
    try:
        args = _parse(request.get("argv") or [])
        frames = _upres(args, models)
    except _ParseError as e:
        _answer(id=rid, ok=False, error=str(e), exit_code=2)
    except BillowError as e:
        _answer(id=rid, ok=False, error=str(e), exit_code=e.exit_code)
    except KeyboardInterrupt:
        _answer(id=rid, ok=False, cancelled=True, error="cancelled", exit_code=130)
    except Exception as e:  # a bug: keep serving, the traceback goes to stderr
        traceback.print_exc(file=sys.stderr)
        _answer(id=rid, ok=False, error=f"{type(e).__name__}: {e}", exit_code=1)
    else:
        _answer(id=rid, ok=True, frames=frames, elapsed=round(time.perf_counter() - start, 3))
    return True


def run(args) -> int:
    from .._version import __version__
    from ..infer.models import default_model

    models = _Models()
    if not args.no_preload:
        from ..infer import runner, upres  # noqa: F401  (torch and the runner, warmed up)

        models.get(args.model or default_model(), args.backend, args.device, "fp32",
                   args.threads)
    sys.stdout.write(json.dumps({"event": "ready", "version": __version__}) + "\n")
    sys.stdout.flush()
    while True:
        try:
            line = sys.stdin.readline()
            if not line:
                return 0
            if line.strip() and not _handle(line, models):
                return 0
        except KeyboardInterrupt:  # an interrupt between requests cancels nothing
            continue
