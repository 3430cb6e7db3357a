"""Engine exit codes and stderr -> one message for a node error. Plain Python, no `hou`.

The engine's contract: an expected failure prints one line on stderr,
`billow upres: error: <file>: <what is wrong>`, and exits 2 (bad input or options), 3 (output
not writable) or 1 (runtime failure / bug, with a traceback). 130 is an interrupt.
"""

from __future__ import annotations

import signal

from .vendor.billow_client import (EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OUTPUT, EXIT_RUNTIME,
                                   error_line, is_noise)

HINTS = {
    EXIT_INPUT: "check the input cache, frame range, grid names and model",
    EXIT_OUTPUT: "check that the output folder is writable and the disk is not full",
    EXIT_RUNTIME: "the engine failed; the last lines of its log are above",
}


class EngineError(RuntimeError):
    """The engine could not be run or failed. `str()` is the one line for the node error."""

    def __init__(self, message: str, exit_code: int | None = None, detail: str = "",
                 argv: list[str] | None = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.detail = detail
        self.argv = list(argv or [])


class EngineCancelled(EngineError):
    """The user pressed Esc (or the farm killed the task); frames already written are kept."""


def _tail(text: str, lines: int = 6) -> str:
    rows = [r for r in str(text).rstrip().splitlines() if r.strip() and not is_noise(r)]
    return "\n".join(rows[-lines:])


def error_from_exit(code: int, stderr: str = "", argv: list[str] | None = None) -> EngineError:
    """The exception for a finished engine process with a non-zero exit code."""
    own = error_line(stderr)
    if code == EXIT_INTERRUPTED:
        return EngineCancelled("billow was interrupted; finished frames are kept "
                               "(re-run to resume)", code, _tail(stderr), argv)
    if code < 0:  # killed by a signal (POSIX): often the out-of-memory killer
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if -code == getattr(signal, "SIGKILL", 9) else ""
        return EngineError(f"billow was killed by {name}{hint}; finished frames are kept",
                           code, _tail(stderr), argv)
    if own:
        hint = HINTS.get(code, "")
        return EngineError(f"{own}" + (f" ({hint})" if hint and code != EXIT_RUNTIME else ""),
                           code, _tail(stderr), argv)
    tail = _tail(stderr, 1) or "no message"
    if code == EXIT_RUNTIME:
        return EngineError(f"billow failed (exit 1): {tail}; {HINTS[EXIT_RUNTIME]}", code,
                           _tail(stderr, 20), argv)
    return EngineError(f"billow failed (exit {code}): {tail}", code, _tail(stderr, 20), argv)


def error_from_launch(exc: OSError, argv: list[str]) -> EngineError:
    """The exception when the engine cannot even be started."""
    exe = argv[0] if argv else "billow"
    if isinstance(exc, FileNotFoundError):
        return EngineError(f"billow engine not found: '{exe}'. Install billow in a Python 3.11 "
                           "environment and set the node's Engine parameter or "
                           "$BILLOW_EXECUTABLE to its `billow` executable", None, str(exc), argv)
    if isinstance(exc, PermissionError):
        return EngineError(f"billow engine '{exe}' is not executable ({exc.strerror})", None,
                           str(exc), argv)
    return EngineError(f"cannot start billow engine '{exe}': {exc}", None, str(exc), argv)
