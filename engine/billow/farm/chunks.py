"""Frame chunks: a farm task runs `--chunk N --chunk-index I`, the I-th run of N frames of the
requested range (0-based), so tasks never overlap and together cover every frame once."""

from __future__ import annotations

from ..errors import InputError


def select_chunk(frames: list, chunk: int | None, index: int | None) -> list:
    if chunk is None and index is None:
        return frames
    if chunk is None or index is None:
        raise InputError("--chunk and --chunk-index go together")
    if chunk < 1:
        raise InputError(f"--chunk must be >= 1, got {chunk}")
    count = (len(frames) + chunk - 1) // chunk
    if not 0 <= index < count:
        raise InputError(f"--chunk-index {index} is out of range: {len(frames)} frames in "
                         f"chunks of {chunk} give indices 0-{count - 1}")
    return frames[index * chunk:(index + 1) * chunk]
