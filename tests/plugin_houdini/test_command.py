"""Parameters -> engine command line, checked against the engine's own argument parser."""

from __future__ import annotations

import pytest

from billow_houdini import hda_definition as hda
from billow_houdini.vendor.billow_client import command_text, engine_env
from billow_houdini.command import (SettingsError, UpresSettings, build_argv, mask_argument,
                                    resolve_executable, settings_from_parms)

HIP = "/shows/abc/sh010"


def parm_defaults(**overrides) -> dict:
    """The asset's default parameter values, as `hou_sop.read_parms` returns them."""
    values = {}
    for p in hda.iter_parms():
        if p["type"] == "button":
            continue
        defaults = p["default"] if p.get("size", 1) > 1 else [p["default"]]
        values.update(zip(hda.component_names(p), defaults))
    values.update(overrides)
    return values


def engine_args(argv: list[str]):
    """What the real engine CLI reads from our command line (without running it)."""
    from billow.cli import build_parser

    assert argv[:2] == ["billow", "upres"]
    return build_parser().parse_args(argv[1:])


def test_default_parameters_make_a_valid_engine_command():
    s = settings_from_parms(parm_defaults(source="file"), {"HIP": HIP, "OS": "billow_upres1"},
                            HIP, frames="1-240")
    assert s.input == f"{HIP}/geo/pyro.$F4.vdb"
    assert s.output == f"{HIP}/geo/billow/billow_upres1.$F4.vdb"
    argv = build_argv(s)
    a = engine_args(argv)
    assert (a.input, a.output, a.frames) == (s.input, s.output, "1-240")
    assert a.scale == 4 and a.velocity_scale == 1.0 and a.device == "cpu"
    assert a.model is None and a.mask is None and a.fps == 24.0
    assert a.write_velocity is False and a.half is False and a.pass_through == ""
    assert a.progress == "json" and a.chunk is None
    assert a.skip_existing  # Render Range resumes by default


def test_every_parameter_reaches_its_flag():
    values = parm_defaults(
        source="file", incache="$JOB/pyro/v003/pyro.####.vdb", outcache="/out/hi.%04d.vdb",
        model="$HIP/models/smoke3d_x4.onnx", scale="8", velscale=1.7, detailblend=0.25,
        masktype="sphere", maskcenterx=0.5, maskcentery=2.0, maskcenterz=-1.0, maskradius=1.5,
        maskfalloff=0.2, densitygrid="dens", velgrid="v", passthrough="temperature, flame",
        writevel=1, half=1, fps=25.0, device="cuda", threads=6, tile=32, skipexisting=1,
        extraargs="--velocity-units 'cells/frame' --up-axis y")
    s = settings_from_parms(values, {"HIP": HIP, "JOB": "/shows/abc"}, HIP, frames="1-100x2")
    a = engine_args(build_argv(s.with_chunk(10, 3)))
    assert a.input == "/shows/abc/pyro/v003/pyro.####.vdb" and a.output == "/out/hi.%04d.vdb"
    assert a.model == f"{HIP}/models/smoke3d_x4.onnx"
    assert (a.scale, a.velocity_scale, a.detail_blend) == (8, 1.7, 0.25)
    assert a.mask == "sphere:0.5,2,-1,1.5,0.2"
    assert (a.density_grid, a.velocity_grid) == ("dens", "v")
    assert a.pass_through == "temperature,flame"
    assert a.write_velocity and a.half and a.fps == 25.0 and a.device == "cuda"
    assert (a.threads, a.tile, a.frames, a.chunk, a.chunk_index) == (6, 32, "1-100x2", 10, 3)
    assert a.skip_existing and a.velocity_units == "cells/frame" and a.up_axis == "y"


def test_mask_kinds():
    assert mask_argument("none") is None
    assert mask_argument("box", box_min=(-1, 0, -1), box_max=(1, 2, 1)) == "box:-1,0,-1,1,2,1"
    assert mask_argument("box", box_min=(0, 0, 0), box_max=(1, 1, 1), falloff=0.5) == \
        "box:0,0,0,1,1,1,0.5"
    assert mask_argument("grid", grid="mask") == "mask"
    for args, fragment in (({"kind": "sphere", "radius": 0}, "radius"),
                           ({"kind": "box", "box_min": (0, 0, 0), "box_max": (1, 0, 1)}, "max"),
                           ({"kind": "grid", "grid": "a,b"}, "grid"),
                           ({"kind": "cone"}, "unknown"),
                           ({"kind": "sphere", "falloff": -1}, "falloff"),
                           ({"kind": "sphere", "center": ("x", 0, 0)}, "not a number")):
        with pytest.raises(SettingsError, match=fragment):
            mask_argument(**args)
    # every mask the plugin writes is one the engine accepts
    from billow.infer.art import ShapeMask

    for text in ("sphere:0.5,2,-1,1.5,0.2", "box:-1,0,-1,1,2,1"):
        ShapeMask.parse(text)


@pytest.mark.parametrize("field, value, fragment", [
    ("scale", 5, "Scale"), ("device", "tpu", "Device"), ("velocity_scale", -1, "Velocity"),
    ("detail_blend", 1.5, "Detail blend"), ("fps", 0, "FPS"), ("velocity_scale", "fast", "number"),
    ("velocity_scale", float("nan"), "finite"), ("input", "", "Input"),
])
def test_bad_settings_say_which_parameter(field, value, fragment):
    from dataclasses import replace

    s = replace(UpresSettings("/c/in.$F4.vdb", "/c/out.$F4.vdb"), **{field: value})
    with pytest.raises(SettingsError, match=fragment):
        build_argv(s)


def test_path_errors_name_the_parameter():
    with pytest.raises(SettingsError, match="Output cache: .*unknown variable"):
        settings_from_parms(parm_defaults(outcache="$NOPE/x.$F4.vdb"), {"HIP": HIP}, HIP)
    with pytest.raises(SettingsError, match="Extra arguments"):
        settings_from_parms(parm_defaults(extraargs="--x 'unclosed"), {"HIP": HIP}, HIP)


def test_upstream_input_overrides_the_cache_path():
    s = settings_from_parms(parm_defaults(incache="$NOPE/never/read"), {"HIP": HIP, "OS": "n"},
                            HIP, input_pattern="/tmp/billow_x/in.vdb")
    assert s.input == "/tmp/billow_x/in.vdb" and s.frames is None


def test_executable_and_environment():
    assert resolve_executable("", {}) == ["billow"]
    assert resolve_executable("", {"BILLOW_EXECUTABLE": "/opt/billow/bin/billow"}) == \
        ["/opt/billow/bin/billow"]
    assert resolve_executable("'/opt/my env/python' -m billow", {"BILLOW_EXECUTABLE": "x"}) == \
        ["/opt/my env/python", "-m", "billow"]
    env = engine_env({"PYTHONPATH": "/hfs/python3.11libs", "PYTHONHOME": "/hfs/python",
                      "HOME": "/home/a", "PATH": "/usr/bin"})
    assert "PYTHONPATH" not in env and "PYTHONHOME" not in env
    assert env["PATH"] == "/usr/bin" and env["PYTHONUNBUFFERED"] == "1"


def test_command_text_round_trips_through_a_shell_split():
    import shlex

    argv = ["billow", "upres", "/my cache/pyro.$F4.vdb", "/out/hi.####.vdb", "--mask", "m"]
    assert shlex.split(command_text(argv, posix=True)) == argv
    assert '"/my cache/pyro.$F4.vdb"' in command_text(argv, posix=False)


def test_signature_changes_with_the_look_not_with_paths():
    from dataclasses import replace

    from billow_houdini.command import settings_signature

    s = UpresSettings("/c/in.$F4.vdb", "/c/out.$F4.vdb", frames="1-10")
    same = replace(s, input="/tmp/x/in.vdb", frames="3", threads=4, tile=32, skip_existing=True,
                   chunk=2, chunk_index=1)
    assert settings_signature(s) == settings_signature(same)
    for change in ({"velocity_scale": 1.5}, {"model": "/m/other.onnx"}, {"mask": "sphere:0,0,0,1"},
                   {"scale": 8}, {"fps": 25.0}, {"pass_through": "flame"}):
        assert settings_signature(replace(s, **change)) != settings_signature(s), change
