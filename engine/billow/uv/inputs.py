"""The inputs of the pre-processing steps (extend, optimise, relocate, preprocess, eval): a UV
sequence and the RGB frames it belongs to, checked against each other up front so that bad
input stops before any work (one line, exit 2) and nothing is half-written; and where their
outputs go.

`billow uv <step>` and the benchmarks read their inputs through `load_inputs`, so both see
the same checks and the same arrays.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import InputError
from ..io.sequence import FramePattern, format_frames


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


def load_inputs(uv: str, rgb: str, mask: str | None = None, frames: str | None = None
                ) -> Inputs:
    """The UV sequence `uv` and RGB sequence `rgb` (with foreground masks `mask` when the
    frames have no alpha), same frames, same size; errors name the file and the problem.
    Without `frames` (the `--frames` grammar) every frame found is used, and they must be
    consecutive."""
    from . import io as uvio

    numbers, uvs, uv_mask = uvio.read_uv_sequence(uv, frames)
    if frames is None:
        _check_consecutive(uv, numbers)
    rgb_pattern = FramePattern.parse(rgb)
    if (numbers[0] is None) != (not rgb_pattern.is_sequence):
        raise InputError(f"{rgb}: --uv and --rgb must both be frame patterns or both "
                         "single files")
    wanted = None if numbers[0] is None else numbers
    _, colours, fg = uvio.read_rgb_sequence(rgb_pattern, wanted, mask_pattern=mask)
    first_uv = FramePattern.parse(uv).path(numbers[0])
    first_rgb = rgb_pattern.path(numbers[0])
    uvio.require_same_size(first_uv, uv_mask.shape[1:], first_rgb, colours.shape[1:3])
    return Inputs(numbers, uvs, uv_mask, colours, fg)


def texture_size(image_hw, tile: int | None = None) -> tuple[int, int]:
    """Texels (rows, columns) of the atlas texture: `tile` texels per atlas tile, or the
    default for frames of `image_hw` pixels."""
    from . import atlas, warp

    if tile is None:
        return warp.default_texture_size(image_hw)
    if tile < 4:
        raise InputError(f"--texture-size {tile}: a tile needs at least 4 texels")
    return atlas.ROWS * tile, atlas.COLS * tile


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
    from . import io as uvio

    for path, u, m in zip(paths, uv, mask):
        uvio.write_uv(path, u, m)


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


def check_device(device: str) -> None:
    """Refuse a CUDA device that torch cannot use (one line, before any work)."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: CUDA is not available in this torch build or "
                         "on this machine; use --device cpu")


def set_threads(threads: int) -> None:
    """torch's CPU threads (0: leave the library default)."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
