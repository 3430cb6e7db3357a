"""Work items for PDG: one per frame chunk, each `billow upres ... --chunk N --chunk-index I`.
Plain Python, no `hou`/`pdg`; `hou_top.py` turns these into PDG work items.

Frame patterns are written with `#` padding in the commands: PDG and the farm's shell must not
see `$F4` (PDG would evaluate it to the current frame, a shell to an empty variable).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .vendor.billow_client import command_text, plan_chunks
from .command import UpresSettings, build_argv
from .paths import frame_path, hashes


@dataclass(frozen=True)
class WorkItemSpec:
    """What one PDG work item runs and which files it is expected to write."""

    index: int
    frames: tuple[int, ...]
    argv: list[str]
    command: str
    outputs: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"billow_upres_chunk{self.index:04d}"


def plan_work_items(settings: UpresSettings, chunk_size: int,
                    executable: list[str] | tuple[str, ...] = ("billow",),
                    posix: bool | None = None) -> list[WorkItemSpec]:
    """One spec per chunk of `settings.frames`. Every item runs with `--skip-existing`, so a
    re-cooked or retried item only does the frames still missing; progress goes to the farm
    log as JSON lines (one per frame), which farm wrappers can parse."""
    if not settings.frames:
        raise ValueError("the TOP needs a frame range to split into tasks")
    base = replace(settings, input=hashes(settings.input), output=hashes(settings.output),
                   skip_existing=True)
    items = []
    for chunk in plan_chunks(settings.frames, chunk_size):
        argv = build_argv(base.with_chunk(chunk.size, chunk.index), executable)
        items.append(WorkItemSpec(
            index=chunk.index, frames=chunk.frames, argv=argv,
            command=command_text(argv, posix),
            outputs=tuple(frame_path(base.output, f) for f in chunk.frames)))
    return items


# The TOP is a Python Processor with these spare parameters: the SOP's, minus what only an
# interactive node needs, with vector parameters flattened to scalars (PDG evaluates spare
# parameters one value at a time) and paths written with #### (PDG would evaluate $F4).
_SOP_ONLY = {"source", "reuse", "f", "skipexisting", "render", "showcmd"}
_TOP_DEFAULTS = {"incache": "$HIP/geo/pyro.####.vdb",
                 "outcache": "$HIP/geo/billow/upres.####.vdb"}
TOP_EXTRA_PARMS = [
    {"type": "string", "name": "frames", "label": "Frames", "default": "`$FSTART`-`$FEND`",
     "help": "Frame range: 1-240, 1-240x2, 1,5,9."},
    {"type": "int", "name": "chunksize", "label": "Frames per Task", "default": 10,
     "range": [1, 100], "help": "One work item runs this many frames (--chunk)."},
]


def top_parms() -> list[dict]:
    """Flat list of the TOP's spare parameters (dicts in the `hda_definition` format)."""
    from .hda_definition import component_names, iter_parms

    out = list(TOP_EXTRA_PARMS)
    for p in iter_parms():
        if p["name"] in _SOP_ONLY:
            continue
        names = component_names(p)
        if len(names) == 1:
            out.append({**p, "default": _TOP_DEFAULTS.get(p["name"], p["default"])})
            continue
        for axis, (name, default) in enumerate(zip(names, p["default"])):
            out.append({**p, "name": name, "label": f"{p['label']} {'XYZ'[axis]}",
                        "size": 1, "default": default})
    return out


def top_values(get) -> dict:
    """The TOP's parameter values through `get(name, kind)` (kind: "string", "int" or
    "float"), as the dict `settings_from_parms` reads."""
    values = {}
    for p in top_parms():
        kind = {"file": "string", "menu": "string", "toggle": "int"}.get(p["type"], p["type"])
        values[p["name"]] = get(p["name"], kind)
    return values


def plan_from_top_values(values: dict, base_dir: str | None = None,
                         environ: dict | None = None) -> list[WorkItemSpec]:
    """Work items from the TOP's evaluated parameters (PDG has expanded $HIP already)."""
    from .command import SettingsError, resolve_executable, settings_from_parms
    from .paths import is_sequence

    for name in ("incache", "outcache"):
        if not is_sequence(str(values.get(name, ""))):
            raise SettingsError(f"{name}: '{values.get(name)}' has no frame token; in TOP "
                                "parameters write frames as #### (PDG evaluates $F4)")
    settings = settings_from_parms(values, {}, base_dir, frames=str(values["frames"]))
    return plan_work_items(settings, int(values["chunksize"]),
                           resolve_executable(str(values.get("executable", "")), environ))
