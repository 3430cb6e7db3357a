"""The `hou` side of billow::upres::1.0 (a Python-type SOP): read parameters, run the engine
under `hou.InterruptableOperation`, load the result. Exercised only inside Houdini.

Everything that can be decided without Houdini (command line, paths, frames, progress, errors)
lives in the plain modules beside this one and is unit-tested; keep this file thin.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace

import hou  # only importable inside Houdini (or hython)

from . import hda_definition as hda
from .vendor.billow_client import command_text
from .command import (SettingsError, build_argv, resolve_executable, settings_from_parms,
                      settings_signature)
from .errors import EngineCancelled, EngineError
from .evaluate import ExpressionError, evaluate_path, expander
from .vendor.billow_client import FrameRangeError, format_frames, range_spec
from .frames import frames_to_render
from .hou_input import upstream_of, write_input, write_upstream_range
from .paths import PathError, frame_path
from .runner import run_engine

USER_ERRORS = (SettingsError, PathError, FrameRangeError, EngineError, ExpressionError)
# Node user data (saved with the .hip): the settings signature of the frames on disk, so a
# changed parameter re-runs the engine instead of loading a stale frame.
SIGNATURE_KEY = "billow_settings_signature"


def read_parms(node) -> dict:
    """Parameter values by name; file paths evaluated with $F4 kept (evaluate.py)."""
    values = {}
    for parm_def in hda.iter_parms():
        if parm_def["type"] in ("button", "separator", "label"):
            continue
        for name in hda.component_names(parm_def):
            parm = node.parm(name)
            if parm is None:
                continue
            if parm_def["type"] == "file":
                values[name] = evaluate_path(parm, expander(hou), hou.OperationFailed)
            elif parm_def["type"] in ("string", "menu"):
                values[name] = parm.evalAsString()
            else:
                values[name] = parm.eval()
    return values


def scene_variables(node) -> dict:
    """What `$HIP`, `$JOB`... mean for this node; everything else comes from the environment."""
    names = ("HIP", "HIPNAME", "HIPFILE", "JOB")
    variables = {n: hou.text.expandString(f"${n}") for n in names}
    variables["OS"] = node.name()
    return {k: v for k, v in variables.items() if v and not v.startswith("$")}


def _executable(values: dict) -> list[str]:
    return resolve_executable(hou.text.expandString(values.get("executable", "")))


def _run(argv: list[str], title: str) -> None:
    """Run the engine with Houdini's interruptable progress; Esc cancels it."""
    with hou.InterruptableOperation("Billow upres", long_operation_name=title,
                                    open_interrupt_dialog=True) as op:
        def report(state):
            op.updateLongProgress(state.fraction, state.status())  # raises on Esc

        try:
            run_engine(argv, report)
        except hou.OperationInterrupted as e:
            raise EngineCancelled("cancelled; finished frames are kept (re-run resumes)",
                                  None, "", argv) from e


def _plan_frame(values: dict, variables: dict, sop, frame: int):
    """(argv, output file, temporary folder or None) to upres one frame."""
    hip, temp = variables.get("HIP"), None
    if values.get("source", "input") == "input":
        upstream = upstream_of(sop)
        temp = tempfile.mkdtemp(prefix="billow_")
        src = os.path.join(temp, "in.vdb")
        write_input(upstream.geometry(), src)
        settings = settings_from_parms(values, variables, hip, input_pattern=src)
        settings = replace(settings, output=frame_path(settings.output, frame))
    else:
        settings = settings_from_parms(values, variables, hip, frames=str(frame))
    return build_argv(settings, _executable(values)), frame_path(settings.output, frame), temp


def _node_settings(node):
    """The node's parameters, scene variables, input mode and resolved settings. Only the
    output side is final: an upstream input is planned when the engine must run."""
    values = read_parms(node)
    variables = scene_variables(node)
    upstream = values.get("source", "input") == "input"
    settings = settings_from_parms(values, variables, variables.get("HIP"),
                                   input_pattern="<upstream>" if upstream else None)
    return values, variables, upstream, settings


def cook(node) -> None:
    """The asset's PythonCook (`node` is hou.pwd()): upres the current frame or load it."""
    geo = node.geometry()
    frame = int(round(hou.frame()))
    temp = None
    try:
        values, variables, _, settings = _node_settings(node)
        out = frame_path(settings.output, frame)
        signature = settings_signature(settings)
        made_with = node.userData(SIGNATURE_KEY)
        fresh = os.path.isfile(out) and made_with in (None, signature)
        if not (values.get("reuse", 1) and fresh):
            argv, out, temp = _plan_frame(values, variables, node, frame)
            _run(argv, f"Billow upres: frame {frame}")
            node.setUserData(SIGNATURE_KEY, signature)
        geo.clear()
        geo.loadFromFile(out)  # VDB grid names become the primitives' `name`
    except USER_ERRORS as e:
        raise hou.NodeError(str(e)) from e
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


def render_range(node) -> None:
    """The "Render Range to Disk" button: the whole range, resumable, Esc cancels."""
    temp = None
    try:
        values, variables, upstream, settings = _node_settings(node)
        stale = node.userData(SIGNATURE_KEY) not in (None, settings_signature(settings))
        skip = bool(values.get("skipexisting", 1)) and not stale  # stale frames are redone
        frames = frames_to_render(range_spec(values["f1"], values["f2"], values["f3"]),
                                  settings.output, skip)
        if not frames:  # every frame is on disk already
            node.cook(force=True)
            return
        if upstream:
            temp = tempfile.mkdtemp(prefix="billow_")
            write_upstream_range(node, os.path.join(temp, "in.$F4.vdb"), frames)
            settings = replace(settings, input=os.path.join(temp, "in.$F4.vdb"))
        settings = replace(settings, frames=format_frames(frames), skip_existing=skip)
        _run(build_argv(settings, _executable(values)), f"Billow upres: {len(frames)} frames")
        node.setUserData(SIGNATURE_KEY, settings_signature(settings))
        node.cook(force=True)
    except USER_ERRORS as e:
        if hou.isUIAvailable():
            hou.ui.displayMessage(str(e), severity=hou.severityType.Error,
                                  title="Billow Upres")
        else:
            raise hou.NodeError(str(e)) from e
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


def show_command(node) -> None:
    """The "Show Command" button: the engine command for the current frame's settings."""
    try:
        values = read_parms(node)
        variables = scene_variables(node)
        frames = range_spec(values["f1"], values["f2"], values["f3"])
        src = "<temporary VDB of the input>" if values.get("source") == "input" else None
        settings = settings_from_parms(values, variables, variables.get("HIP"),
                                       input_pattern=src, frames=frames)
        text = command_text(build_argv(settings, _executable(values)))
    except USER_ERRORS as e:
        text = f"error: {e}"
    if hou.isUIAvailable():
        hou.ui.displayMessage(text, title="Billow Upres command")
    else:
        print(text)
