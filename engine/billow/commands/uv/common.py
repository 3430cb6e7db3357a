"""Arguments shared by `billow uv extend|optimise|relocate|preprocess|eval`: a UV sequence and
the RGB frames it belongs to (read and checked by `billow.uv.inputs`)."""

from __future__ import annotations

import argparse

from ..common import add_frames_argument, add_progress_argument


def add_inputs(p: argparse.ArgumentParser, uv_help: str = "UV frames (16-bit PNG or EXR "
               "u, v, mask; or 8-bit DensePose IUV PNG)") -> None:
    p.add_argument("--uv", metavar="PATTERN", required=True, help=uv_help)
    p.add_argument("--rgb", metavar="PATTERN", required=True,
                   help="the RGB frames (PNG; alpha is the foreground unless --mask is given)")
    p.add_argument("--mask", metavar="PATTERN", default=None,
                   help="foreground mask frames, when the RGB frames have no alpha")
    add_frames_argument(p)


def add_texture_size(p: argparse.ArgumentParser) -> None:
    p.add_argument("--texture-size", type=int, default=None, metavar="T",
                   help="texels per atlas tile; the texture is 6T x 4T texels (default: "
                   "max(H, W) / 2 rounded to 8, at most 256: T = 128 for 256x256 frames)")


def add_runtime(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (0: library "
                   "default)")
    add_progress_argument(p)


def load_inputs(args):
    """The checked inputs named by `add_inputs`' flags (`billow.uv.inputs.Inputs`)."""
    from ...uv.inputs import load_inputs as load

    return load(args.uv, args.rgb, args.mask, args.frames)
