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


def add_chunk_arguments(parser: argparse.ArgumentParser) -> None:
    """The farm flags of a command whose frames can be split over tasks and resumed."""
    parser.add_argument("--chunk", type=int, default=None, help="frames per farm task")
    parser.add_argument("--chunk-index", type=int, default=None,
                        help="which chunk this task runs (0-based)")
    parser.add_argument("--skip-existing", action="store_true",
                        help="leave frames whose output exists (resume after a kill)")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", choices=MODES, default="auto",
                        help="progress display: a bar on a terminal, log lines, or one JSON "
                        "object per line on stdout for DCCs and farms (default: auto)")
