"""billow/client.py, the add-ons' side of the CLI contract, against the engine's own side:
command lines it builds are read by the engine's parser as meant, frame ranges round-trip."""

import pytest
from billow import client
from billow.cli import build_parser


def _parse(argv):
    assert argv[0] == "billow"
    return build_parser(only="upres").parse_args(argv[1:])


def test_upres_argv_is_read_by_the_engine_as_meant():
    argv = client.upres_argv(["billow"], "in.####.vdb", "out.####.vdb", scale=8,
                             velocity_scale=1.5, device="cpu", frames=[1, 2, 3, 7],
                             model="m.onnx", mask="sphere:0,0,0,1", up_axis="z", fps=30.0,
                             time_scale=0.5, detail_blend=0.25, pass_through=["temperature"],
                             write_velocity=False, half=True, density_grid="dens",
                             velocity_grid="v", tile=32, threads=2, skip_existing=True,
                             chunk=2, chunk_index=1, extra=["--batch", "2"])
    a = _parse(argv)
    assert (a.input, a.output) == ("in.####.vdb", "out.####.vdb")
    assert (a.scale, a.velocity_scale, a.device, a.frames) == (8, 1.5, "cpu", "1-3,7")
    assert (a.model, a.mask, a.up_axis, a.fps, a.time_scale) == \
        ("m.onnx", "sphere:0,0,0,1", "z", 30.0, 0.5)
    assert (a.detail_blend, a.pass_through, a.write_velocity, a.half) == \
        (0.25, "temperature", False, True)
    assert (a.density_grid, a.velocity_grid, a.tile, a.threads) == ("dens", "v", 32, 2)
    assert (a.skip_existing, a.chunk, a.chunk_index, a.batch, a.progress) == \
        (True, 2, 1, 2, "json")


def test_upres_argv_leaves_the_engines_defaults():
    argv = client.upres_argv(["billow"], "a.vdb", "b.vdb")
    assert argv == ["billow", "upres", "a.vdb", "b.vdb", "--scale", "4", "--velocity-scale", "1",
                    "--device", "cpu", "--progress", "json"]
    default, ours = build_parser(only="upres").parse_args(["upres", "a.vdb", "b.vdb"]), _parse(argv)
    assert {k: v for k, v in vars(ours).items() if k != "progress"} == \
        {k: v for k, v in vars(default).items() if k != "progress"}


@pytest.mark.parametrize("frames", [[1], [1, 2, 3], [-3, -2, 0, 5, 6, 9], list(range(1, 100, 2))])
def test_frame_ranges_round_trip(frames):
    assert client.parse_frames(client.format_frames(frames)) == sorted(frames)


def test_bad_frame_ranges_name_the_part():
    for spec, part in (("1-x", "'1-x'"), ("5-1", "'5-1' is empty"), ("", "empty")):
        with pytest.raises(client.FrameRangeError, match=part):
            client.parse_frames(spec)


def test_chunks_cover_each_frame_once_as_the_engine_selects_them():
    from billow.farm.chunks import select_chunk

    frames = client.parse_frames("1-10x2,20-22")
    chunks = client.plan_chunks("1-10x2,20-22", 3)
    assert [f for c in chunks for f in c.frames] == frames
    assert all(list(c.frames) == select_chunk(frames, 3, c.index) for c in chunks)


@pytest.mark.parametrize("pattern, frame, path", [
    ("/c/smoke.####.vdb", 12, "/c/smoke.0012.vdb"), ("/c/s.$F4.vdb", 7, "/c/s.0007.vdb"),
    ("/c/s.$F.vdb", 7, "/c/s.7.vdb"), ("/c/s.%04d.vdb", -3, "/c/s.-0003.vdb"),
    ("/c/s.@@@.vdb", 5, "/c/s.005.vdb"), ("/c/single.vdb", None, "/c/single.vdb"),
])
def test_frame_patterns_as_the_engine_reads_them(pattern, frame, path):
    from billow.io.sequence import FramePattern

    assert client.frame_path(pattern, frame) == path == str(FramePattern.parse(pattern).path(frame))


def test_one_frame_token_only():
    with pytest.raises(client.FrameRangeError, match="more than one frame token"):
        client.split_pattern("/c/a.####.$F4.vdb")
    assert client.hashes("/c/s.$F4.vdb") == "/c/s.####.vdb"
    assert client.hashes("/c/a.vdb") == "/c/a.vdb"
