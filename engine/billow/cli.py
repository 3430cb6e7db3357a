"""The `billow` command. Each subcommand lives in `billow.commands.<name>` and provides
`add_parser(subparsers)` and `run(args) -> int`.

Only the chosen subcommand's module is imported (some pull in torch, seconds of start-up), so
`billow --version` and `billow --help` answer at once; DCC add-ons call them to check the
engine. `COMMANDS` holds each command's one-line summary for `billow --help`; a test keeps
it equal to the module's own.

Expected failures (`BillowError`) print one line and exit with their code (2 bad input,
3 unwritable output); anything else is a bug and keeps its traceback (exit 1), followed by one
`billow <command>: error: internal error ...` line so DCC add-ons show what broke. SIGTERM
(what `timeout` and farm schedulers send) unwinds like Ctrl-C, removing temporary files, and
exits 143; Ctrl-C exits 130. The exit codes and what to retry: docs/guarantees.md.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import signal
import sys
import traceback

from ._version import __version__
from .errors import (
    EXIT_INTERRUPTED,
    EXIT_RUNTIME,
    EXIT_TERMINATED,
    BillowError,
    Terminated,
    shorten,
)

COMMANDS = {
    "demo": "simulate, upres and show a smoke plume (a first run)",
    "upres": "upres a smoke cache with the neural model (the main job)",
    "info": "list the grids of a VDB file or sequence",
    "convert": "rename grids, merge/split vectors, convert units and up axis",
    "sim": "simulate smoke (plume, jet, obstacle) into a VDB sequence",
    "dataset": "generate paired high-/low-res smoke simulations for training",
    "eval": "measure an upres (and baselines) against input and reference; HTML report",
    "baseline": "upres with nearest / trilinear / tricubic / wavelet turbulence",
    "steady": "calm the boiling of an upres'd sequence (a filter along the flow)",
    "train": "train a tempoGAN upres model",
    "finetune": "fine-tune a trained model on new simulations",
    "export": "export a trained generator to ONNX with its model card",
    "uv": "temporally coherent UVs for re-texturing (temporalUV)",
    "retexture": "re-texture an image sequence through its UVs (one lookup per pixel)",
    "serve": "keep the engine warm for a DCC: upres requests as JSON lines on stdin",
}


def version_text() -> str:
    lines = [f"billow {__version__}", f"Python {sys.version.split()[0]}"]
    try:
        from .io.openvdb_module import describe

        lines.append(describe())
    except BillowError as e:
        lines.append(f"OpenVDB: not available ({e})")
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print versions and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only`, one whose other subcommands are summary stubs."""
    parser = argparse.ArgumentParser(
        prog="billow", description="Neural smoke upres for VFX: temporally coherent 4x "
        "super-resolution of VDB smoke caches.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"billow.commands.{name}").add_parser(sub)
        else:
            sub.add_parser(name, help=summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((a for a in argv if not a.startswith("-")), "")
    args = build_parser(only=chosen if chosen in COMMANDS else "").parse_args(argv)
    previous = _install_terminate(_raise_terminated)
    try:
        return int(args.run(args) or 0)
    except BillowError as e:
        print(f"billow {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except Terminated:
        kept = ("its last checkpoint is kept (resume with `billow train --resume`)"
                if args.command in ("train", "finetune", "uv") else
                "finished frames are kept (re-run the same command to resume)")
        print(f"billow {args.command}: error: terminated by SIGTERM; {kept}", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print(f"billow {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug: keep the traceback, then one line an add-on can show
        traceback.print_exc()
        print(f"billow {args.command}: error: internal error ({type(e).__name__}: "
              f"{shorten(e)}); please report it with the command line", file=sys.stderr)
        return EXIT_RUNTIME
    finally:
        for sig, handler in previous.items():  # the host's handlers back (None: not Python's)
            if handler is not None:
                signal.signal(sig, handler)
        sys.stderr.flush()
        # Drop what the failed command still references (frames hold OpenVDB objects) while
        # the interpreter is whole: otherwise nanobind lists them as "leaked" at exit.
        gc.collect()


def _raise_terminated(signum, frame):
    raise Terminated()


# SIGTERM, and on Windows SIGBREAK: the console break the add-ons send to cancel
# (`billow.client.cancel_signal`), which would otherwise end the process without unwinding, so
# its temporary file stayed (Windows is not in CI: this branch is untested there)
TERMINATE_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGBREAK")
                          if hasattr(signal, n))


def _install_terminate(handler) -> dict:
    """Install `handler` for TERMINATE_SIGNALS; returns what each had (main thread only; an
    embedding host that calls `main` elsewhere keeps its own)."""
    previous = {}
    for sig in TERMINATE_SIGNALS:
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            break
    return previous


if __name__ == "__main__":
    sys.exit(main())
