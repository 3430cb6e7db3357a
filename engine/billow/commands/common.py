"""Arguments and helpers shared by several subcommands."""

from __future__ import annotations

import argparse

from ..io.sequence import FramePattern, resolve_frames
from ..errors import InputError
from ..progress import MODES


def add_frames_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", default=None,
                        help="frames to use: 1-100, 1-100x2, 1,5,9 (default: every frame found)")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", choices=MODES, default="auto",
                        help="progress display: a bar on a terminal, log lines, or one JSON "
                        "object per line on stdout for DCCs and farms (default: auto)")


def input_output_frames(in_pattern: str, out_pattern: str, frames: str | None):
    """(frame, input path, output path) triples; the output must be a sequence pattern when
    the input is one."""
    inputs = resolve_frames(in_pattern, frames)
    out = FramePattern.parse(out_pattern)
    if inputs[0][0] is not None and not out.is_sequence:
        raise InputError(f"{out_pattern}: the input is a sequence, so the output needs a frame "
                         "token too (e.g. out/smoke.####.vdb)")
    if inputs[0][0] is None and out.is_sequence:
        raise InputError(f"{out_pattern}: the input is a single file, so the output must be "
                         "one file too (no frame token)")
    return [(f, p, out.path(f)) for f, p in inputs]
