"""Arguments and helpers shared by several subcommands."""

from __future__ import annotations

import argparse

# the commands' jobs and output check are the library's (billow.io.jobs); imported here so
# every command takes its shared pieces from one place
from ..io.jobs import input_output_frames, refuse_overwriting_inputs  # noqa: F401
from ..progress import MODES


def add_frames_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", default=None,
                        help="frames to use: 1-100, 1-100x2, 1,5,9 (default: every frame found)")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", choices=MODES, default="auto",
                        help="progress display: a bar on a terminal, log lines, or one JSON "
                        "object per line on stdout for DCCs and farms (default: auto)")
