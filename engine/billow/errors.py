"""Exception types that the CLI turns into one clear line and an exit code.

Expected failures (bad input, unwritable output) are raised as a subclass of `BillowError`;
anything else is a bug or a runtime failure and keeps its traceback.
"""

from __future__ import annotations

# Exit codes, distinct so that farm schedulers can tell a bad job from a broken machine; part of
# the contract with the add-ons, so they live in the client module the add-ons vendor.
from .client import (  # noqa: F401  (re-exported: billow.errors.EXIT_* is the engine's name)
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT,
    EXIT_RUNTIME,
    EXIT_TERMINATED,
)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwinds like Ctrl-C, so temporary files are removed on the way out."""


class BillowError(Exception):
    """Base class of the errors that billow reports without a traceback."""

    exit_code = EXIT_RUNTIME


class InputError(BillowError, ValueError):
    """The input files, grids or options are wrong. The message names file, frame and grid."""

    exit_code = EXIT_INPUT


class OutputError(BillowError, OSError):
    """An output file or folder cannot be written."""

    exit_code = EXIT_OUTPUT


class MissingDependencyError(BillowError, ImportError):
    """An optional dependency (OpenVDB, ONNX Runtime, a native build) is not installed."""

    exit_code = EXIT_INPUT


def shorten(text: object, limit: int = 200) -> str:
    """One line of at most `limit` characters: native libraries sometimes put whole buffers
    of garbage into their messages (OpenVDB does for corrupt files)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
