"""Frame patterns and ranges as DCCs and farms spell them."""

from __future__ import annotations

import pytest

from billow.errors import InputError
from billow.io import FramePattern, format_frames, parse_frames, resolve_frames


@pytest.mark.parametrize("pattern, expected", [
    ("out/smoke.####.vdb", "out/smoke.0042.vdb"),
    ("out/smoke.$F4.vdb", "out/smoke.0042.vdb"),
    ("out/smoke.$F.vdb", "out/smoke.42.vdb"),
    ("out/smoke.%04d.vdb", "out/smoke.0042.vdb"),
    ("out/smoke.%d.vdb", "out/smoke.42.vdb"),
    ("out/smoke.@.vdb", "out/smoke.42.vdb"),
    ("out/smoke_@@@@@.vdb", "out/smoke_00042.vdb"),
    ("####.vdb", "0042.vdb"),
])
def test_patterns(pattern, expected):
    assert str(FramePattern.parse(pattern).path(42)) == expected


def test_single_file_and_bad_patterns():
    pat = FramePattern.parse("cache/smoke.vdb")
    assert not pat.is_sequence and str(pat.path()) == "cache/smoke.vdb"
    with pytest.raises(InputError, match="more than one frame token"):
        FramePattern.parse("a.####.$F4.vdb")


@pytest.mark.parametrize("spec, frames", [
    ("7", [7]), ("1-5", [1, 2, 3, 4, 5]), ("1-10x3", [1, 4, 7, 10]), ("1,5,9", [1, 5, 9]),
    ("1-3,2-4,10", [1, 2, 3, 4, 10]), ("-2-1", [-2, -1, 0, 1]),
])
def test_ranges(spec, frames):
    assert parse_frames(spec) == frames


@pytest.mark.parametrize("spec", ["", "1-", "a", "5-1", "1-10x0"])
def test_bad_ranges(spec):
    with pytest.raises(InputError, match="frame range"):
        parse_frames(spec)


def test_format_frames():
    assert format_frames([9, 1, 2, 3, 7, 10]) == "1-3,7,9-10"


def test_discovery_and_missing_frames(tmp_path):
    for f in (1, 2, 3, 5, 8, 9, 10):
        (tmp_path / f"smoke.{f:04d}.vdb").write_bytes(b"x")
    (tmp_path / "smoke.12.vdb").write_bytes(b"x")  # wrong padding: not part of the sequence
    (tmp_path / "other.0004.vdb").write_bytes(b"x")
    pattern = str(tmp_path / "smoke.$F4.vdb")
    assert [f for f, _ in resolve_frames(pattern)] == [1, 2, 3, 5, 8, 9, 10]
    with pytest.raises(InputError, match=r"missing frames 4,6-7 \(of 1-10\)"):
        resolve_frames(pattern, "1-10")
    assert [p.name for _, p in resolve_frames(pattern, "8-10")] == [
        "smoke.0008.vdb", "smoke.0009.vdb", "smoke.0010.vdb"]
    with pytest.raises(InputError, match="no files match"):
        resolve_frames(str(tmp_path / "nothing.####.vdb"))
    with pytest.raises(InputError, match="no such file"):
        resolve_frames(str(tmp_path / "single.vdb"))
