"""Arguments and input/output shared by `billow uv extend|optimise|relocate|preprocess|eval`:
a UV sequence and the RGB frames it belongs to, checked against each other up front so that
bad input stops before any work (one line, exit 2) and nothing is half-written."""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from ..errors import InputError
from ..io.sequence import FramePattern, format_frames
from .common import add_frames_argument, add_progress_argument


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


@dataclasses.dataclass
class Inputs:
    frames: list  # frame numbers ([None] for single files)
    uv: np.ndarray  # [T, H, W, 2]
    mask: np.ndarray  # [T, H, W], where the UVs are defined
    rgb: np.ndarray  # [T, H, W, 3]
    fg: np.ndarray  # [T, H, W], foreground of the RGB frames


def _check_consecutive(pattern: str, frames: list) -> None:
    if frames[0] is None or len(frames) < 2:
        return
    gaps = sorted(set(range(frames[0], frames[-1] + 1)) - set(frames))
    if gaps:
        raise InputError(f"{pattern}: missing frame{'s' if len(gaps) > 1 else ''} "
                         f"{format_frames(gaps)} (the sequence runs {frames[0]}-{frames[-1]}; "
                         "temporal steps need consecutive frames, or pass --frames)")


def load_inputs(args) -> Inputs:
    """The UV and RGB sequences of `args.uv`, `args.rgb` (and `args.mask`), same frames, same
    size; errors name the file and the problem."""
    from ..uv import io as uvio

    frames, uv, mask = uvio.read_uv_sequence(args.uv, args.frames)
    if args.frames is None:
        _check_consecutive(args.uv, frames)
    rgb_pattern = FramePattern.parse(args.rgb)
    if (frames[0] is None) != (not rgb_pattern.is_sequence):
        raise InputError(f"{args.rgb}: --uv and --rgb must both be frame patterns or both "
                         "single files")
    wanted = None if frames[0] is None else frames
    _, rgb, fg = uvio.read_rgb_sequence(rgb_pattern, wanted, mask_pattern=args.mask)
    first_uv = FramePattern.parse(args.uv).path(frames[0])
    first_rgb = rgb_pattern.path(frames[0])
    uvio.require_same_size(first_uv, mask.shape[1:], first_rgb, rgb.shape[1:3])
    return Inputs(frames, uv, mask, rgb, fg)


def texture_size(args, image_hw) -> tuple[int, int]:
    from ..uv import atlas, warp

    if args.texture_size is None:
        return warp.default_texture_size(image_hw)
    if args.texture_size < 4:
        raise InputError(f"--texture-size {args.texture_size}: a tile needs at least 4 texels")
    return atlas.ROWS * args.texture_size, atlas.COLS * args.texture_size


def output_paths(pattern: str, frames: list) -> list:
    """One output path per input frame; the pattern needs a frame token for sequences."""
    out = FramePattern.parse(pattern)
    if frames[0] is not None and not out.is_sequence:
        raise InputError(f"{pattern}: the input is a sequence, so the output needs a frame "
                         "token too (e.g. out/frame.####.png)")
    if frames[0] is None and out.is_sequence:
        raise InputError(f"{pattern}: the input is a single file, so the output must be one "
                         "file too (no frame token)")
    return [out.path(f) for f in frames]


def write_uvs(paths: list, uv: np.ndarray, mask: np.ndarray) -> None:
    from ..uv import io as uvio

    for path, u, m in zip(paths, uv, mask):
        uvio.write_uv(path, u, m)


def set_threads(args) -> None:
    import torch

    if getattr(args, "threads", 0) > 0:
        torch.set_num_threads(args.threads)


def frame_index(frames: list, frame: int) -> int:
    """Index of frame number `frame` in `frames` (InputError naming the range otherwise)."""
    if frames[0] is None:
        if frame != 0:
            raise InputError(f"--reference-frame {frame}: the input is a single frame")
        return 0
    if frame not in frames:
        raise InputError(f"--reference-frame {frame}: not among the input frames "
                         f"{format_frames(frames)}")
    return frames.index(frame)
