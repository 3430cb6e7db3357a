"""The `billow` command. Each subcommand lives in `billow.commands.<name>` and provides
`add_parser(subparsers)` and `run(args) -> int`.

Expected failures (`BillowError`) print one line and exit with their code (2 bad input,
3 unwritable output); anything else is a bug and keeps its traceback (exit 1).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ._version import __version__
from .errors import EXIT_INTERRUPTED, BillowError

COMMANDS = ("info", "convert", "upres")


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="billow", description="Neural smoke upres for VFX: temporally coherent 4x "
        "super-resolution of VDB smoke caches.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"billow.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except BillowError as e:
        print(f"billow {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"billow {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
