"""Which frames of a range a node still has to run. Plain Python, no `hou`.

The frame-range grammar and farm chunks are the engine's own (`billow_client`, vendored from
the engine by tools/vendor_client.py), so planning chunks here and running them there can never
disagree: a chunk is identified by its index, and the frames listed for it are only for
display and expected outputs.
"""

from __future__ import annotations

from .vendor.billow_client import parse_frames


def frames_to_render(frames: str | list[int], output_pattern: str, skip_existing: bool,
                     exists=None) -> list[int]:
    """The frames of the range still to do: all of them, or with `skip_existing` those whose
    output file is missing (so the SOP writes upstream input only for those)."""
    import os

    from .paths import frame_path

    listed = parse_frames(frames) if isinstance(frames, str) else sorted(set(frames))
    if not skip_existing:
        return listed
    exists = os.path.isfile if exists is None else exists
    return [f for f in listed if not exists(frame_path(output_pattern, f))]
