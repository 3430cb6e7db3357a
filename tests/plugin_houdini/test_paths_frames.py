"""$F4/$HIP expansion, frame paths and chunk planning (no Houdini, no engine)."""

from __future__ import annotations

import pytest

from billow_houdini.vendor.billow_client import (Chunk, FrameRangeError, format_frames,
                                                 parse_frames, plan_chunks, range_spec)
from billow_houdini.paths import (PathError, expand_variables, frame_path, frame_tokens, hashes,
                                  is_sequence, to_engine_pattern)

HIP = {"HIP": "/shows/abc/sh010", "JOB": "/shows/abc", "OS": "billow_upres1"}


def test_scene_variables_expand_and_the_frame_token_stays():
    assert expand_variables("$HIP/geo/pyro.$F4.vdb", HIP, {}) == "/shows/abc/sh010/geo/pyro.$F4.vdb"
    assert expand_variables("${JOB}/cache/${OS}.${F4}.vdb", HIP, {}) == \
        "/shows/abc/cache/billow_upres1.$F4.vdb"
    assert expand_variables("$HIP/a.$F.vdb", HIP, {}) == "/shows/abc/sh010/a.$F.vdb"
    # the environment comes after the scene's own variables
    assert expand_variables("$CACHE/x.$F4.vdb", HIP, {"CACHE": "/fast"}) == "/fast/x.$F4.vdb"
    assert expand_variables("$HIP/x", HIP, {"HIP": "/elsewhere"}) == "/shows/abc/sh010/x"


@pytest.mark.parametrize("text, fragment", [
    ("$HIP/$NOPE/x.$F4.vdb", "unknown variable $NOPE"),
    ("$HIP/x.$FF.vdb", "$FF cannot be used"),
    ("$HIP/x.$T.vdb", "$T cannot be used"),
    ("$HIP/x.$F4abc.vdb", "write ${F4}"),
])
def test_bad_variables_are_named(text, fragment):
    with pytest.raises(PathError, match=fragment.replace("$", r"\$").replace("{", r"\{")
                       .replace("}", r"\}")):
        expand_variables(text, HIP, {})


def test_engine_pattern_is_absolute_with_one_frame_token():
    assert to_engine_pattern("$HIP/geo/pyro.$F4.vdb", HIP, environ={}) == \
        "/shows/abc/sh010/geo/pyro.$F4.vdb"
    # relative paths resolve against $HIP (the engine runs in another working directory)
    assert to_engine_pattern("geo/pyro.####.vdb", {}, "/shows/abc/sh010", {}) == \
        "/shows/abc/sh010/geo/pyro.####.vdb"
    with pytest.raises(PathError, match="more than one frame token"):
        to_engine_pattern("/c/pyro.$F4.####.vdb", {}, environ={})
    with pytest.raises(PathError, match="folder"):
        to_engine_pattern("/c/v$F4/pyro.vdb", {}, environ={})
    with pytest.raises(PathError, match="relative path"):
        to_engine_pattern("geo/pyro.$F4.vdb", {}, None, {})
    with pytest.raises(PathError, match="empty"):
        to_engine_pattern("  ", HIP)


@pytest.mark.parametrize("pattern, frame, expected", [
    ("/c/pyro.$F4.vdb", 12, "/c/pyro.0012.vdb"),
    ("/c/pyro.$F.vdb", 12, "/c/pyro.12.vdb"),
    ("/c/pyro.####.vdb", 7, "/c/pyro.0007.vdb"),
    ("/c/pyro.%04d.vdb", 7, "/c/pyro.0007.vdb"),
    ("/c/pyro.@.vdb", 7, "/c/pyro.7.vdb"),
    ("/c/pyro.$F4.vdb", -3, "/c/pyro.-0003.vdb"),
    ("/c/single.vdb", None, "/c/single.vdb"),
])
def test_frame_path_matches_the_engine(pattern, frame, expected):
    from billow.io import FramePattern

    assert frame_path(pattern, frame) == expected
    if frame is not None:  # the engine names the same file
        assert str(FramePattern.parse(pattern).path(frame)) == expected


def test_hashes_and_tokens():
    assert hashes("/c/pyro.$F4.vdb") == "/c/pyro.####.vdb"
    assert hashes("/c/pyro.$F.vdb") == "/c/pyro.#.vdb"
    assert hashes("/c/pyro.%03d.vdb") == "/c/pyro.###.vdb"
    assert hashes("/c/one.vdb") == "/c/one.vdb"
    assert frame_tokens("/c/$F4/pyro.####.vdb") == ["####"]
    assert is_sequence("/c/pyro.$F4.vdb") and not is_sequence("/c/pyro.vdb")
    with pytest.raises(PathError):
        frame_path("/c/pyro.$F4.vdb", None)


def test_frame_ranges_read_like_the_engine():
    from billow.io import parse_frames as engine_parse

    for spec in ("1-10", "1-10x3", "1-10:3", "5", "1,5,9", "1-3,7,9-10", "-2-2"):
        assert parse_frames(spec) == engine_parse(spec)
    assert format_frames([1, 2, 3, 7, 9, 10]) == "1-3,7,9-10"
    assert parse_frames(format_frames([4, 5, 6, 10])) == [4, 5, 6, 10]
    for bad in ("", "a-b", "5-1", "1-5x0"):
        with pytest.raises(FrameRangeError):
            parse_frames(bad)


def test_houdini_range_parameters():
    assert range_spec(1.0, 240.0, 1.0) == "1-240"
    assert range_spec(1, 240, 2) == "1-240x2"
    assert range_spec(12, 12, 1) == "12"
    with pytest.raises(FrameRangeError, match="whole frames"):
        range_spec(1.5, 10, 1)
    with pytest.raises(FrameRangeError, match="empty"):
        range_spec(10, 1, 1)
    with pytest.raises(FrameRangeError, match="step"):
        range_spec(1, 10, 0)


def test_chunks_agree_with_the_engine():
    from billow.farm import select_chunk

    for spec, size in (("1-240", 10), ("1-100x3", 7), ("1,5,9,11-14", 2), ("3", 5)):
        chunks = plan_chunks(spec, size)
        frames = parse_frames(spec)
        assert [c.frames for c in chunks] == [tuple(select_chunk(frames, size, c.index))
                                             for c in chunks]
        assert sum((list(c.frames) for c in chunks), []) == frames  # each frame once
        with pytest.raises(Exception, match="out of range"):  # and nothing past the end
            select_chunk(frames, size, len(chunks))
    assert plan_chunks("1-5", 2)[-1] == Chunk(2, 2, (5,))
    assert plan_chunks("1-5", 2)[0].label == "1-2"
    for bad in (0, -1, 2.5, True):
        with pytest.raises(FrameRangeError):
            plan_chunks("1-5", bad)


def test_frames_to_render_skips_frames_on_disk():
    from billow_houdini.frames import frames_to_render

    on_disk = {"/o/hi.0002.vdb", "/o/hi.0004.vdb"}
    assert frames_to_render("1-5", "/o/hi.$F4.vdb", True, on_disk.__contains__) == [1, 3, 5]
    assert frames_to_render("1-5", "/o/hi.$F4.vdb", False, on_disk.__contains__) == [1, 2, 3, 4, 5]
    assert frames_to_render("2-4x2", "/o/hi.####.vdb", True, on_disk.__contains__) == []
