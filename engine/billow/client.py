"""The engine's command-line contract as a client sees it: the frame-range grammar, the
`--progress json` protocol, and launching `billow` as a subprocess.

Standard library only, and no import from billow: this file is the one source that
`tools/vendor_client.py` copies, verbatim, into the add-ons (`plugin_blender/vendor/` and
`plugin_houdini/python/billow_houdini/vendor/`), whose Pythons cannot import the engine;
`tests/test_client_vendored.py` fails when a copy differs. The engine itself reads frame ranges
(`billow.io.sequence`) and writes progress (`billow.progress`) through this file, so both sides of
each contract are the same code.

Frame patterns: `smoke.####.vdb` (one '#' per digit), `smoke.$F4.vdb` (Houdini),
`smoke.%04d.vdb` (printf), `smoke.@@@@.vdb` (one '@' per digit; a single '@' or '#' is unpadded);
one token, in the file name; a path without one is a single file. Frame ranges: `1-100`,
`1-100x2` (or OpenJD's `1-100:2`), `1,5,9` and mixes of those. Farm chunks: `--chunk N
--chunk-index I` runs the I-th (0-based) group of N frames of the sorted list.

Progress (`--progress json`): one JSON object per line on stdout,

    {"event": "start", "total": 48, "task": "upres"}
    {"event": "frame", "frame": 12, "done": 3, "total": 48, "elapsed": 4.2, "eta": 63.0, ...}
    {"event": "message", "text": "..."}        {"event": "warning", "text": "..."}
    {"event": "end", "done": 48, "total": 48, "elapsed": 95.0}

(a unit of work may also be an "iteration", "step" or "skip" event). Anything else on stdout (a
library printing) is read as {"event": "log", "text": ...}, never an error. On failure the engine
prints one line `billow COMMAND: error: WHAT` on stderr and exits with one of the `EXIT_*` codes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, field

# ---- exit codes (the engine's `billow.errors` uses these) ---------------------------------------

EXIT_RUNTIME = 1  # unexpected failure inside billow (a bug, out of memory, a crashed kernel)
EXIT_INPUT = 2  # the input or the command line is wrong; re-running will not help
EXIT_OUTPUT = 3  # the output cannot be written (permissions, disk full)
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGINT, as shells report it
EXIT_TERMINATED = 143  # SIGTERM (timeout, Deadline, OpenCue, Kubernetes), as shells report it

class FrameRangeError(ValueError):
    """A frame range or pattern cannot be read; the message names the bad part."""


# ---- frame patterns ----------------------------------------------------------------------------

FRAME_TOKEN = re.compile(r"(\$F(\d*))|(%0?(\d*)d)|(#+)|(@+)")


def frame_tokens(pattern: str) -> list[str]:
    """The frame tokens in the file-name part of a pattern."""
    name = str(pattern).replace("\\", "/").rsplit("/", 1)[-1]
    return [m.group(0) for m in FRAME_TOKEN.finditer(name)]


def split_pattern(pattern: str) -> tuple[str, str, int] | None:
    """(text before the frame token, text after it, padding) of a frame pattern; None for a
    single file. Padding 0 or 1 is unpadded."""
    folder, sep, name = str(pattern).rpartition("/")
    found = list(FRAME_TOKEN.finditer(name))
    if not found:
        return None
    if len(found) > 1:
        raise FrameRangeError(f"{pattern}: more than one frame token in the pattern")
    m = found[0]
    if m.group(1):
        padding = int(m.group(2) or 0)
    elif m.group(3):
        padding = int(m.group(4) or 0)
    else:
        padding = len(m.group(0))
    return folder + sep + name[:m.start()], name[m.end():], padding


def frame_text(frame: int, padding: int) -> str:
    """A frame number as a pattern writes it: `0012` for padding 4, `-003` keeps the sign."""
    sign = "-" if frame < 0 else ""
    return f"{sign}{abs(int(frame)):0{max(padding, 1)}d}"


def frame_path(pattern: str, frame: int | None) -> str:
    """The file of one frame of a pattern (the pattern itself for a single file)."""
    parts = split_pattern(pattern)
    if parts is None:
        return str(pattern)
    if frame is None:
        raise FrameRangeError(f"{pattern}: a frame number is needed for this pattern")
    head, tail, padding = parts
    return head + frame_text(frame, padding) + tail


def hashes(pattern: str) -> str:
    """The pattern with its frame token as `#` padding (`smoke.$F4.vdb` -> `smoke.####.vdb`)."""
    parts = split_pattern(pattern)
    if parts is None:
        return str(pattern)
    head, tail, padding = parts
    return head + "#" * max(padding, 1) + tail


# ---- frame ranges ------------------------------------------------------------------------------

_RANGE = re.compile(r"^(-?\d+)(?:-(-?\d+)(?:[x:](\d+))?)?$")  # OpenJD writes steps as :


def parse_frames(spec: str) -> list[int]:
    """`1-100`, `1-100x2` (or `1-100:2`), `1,5,9`, `1-10,20-30x5` -> sorted unique frames."""
    frames: set[int] = set()
    text = str(spec).replace(" ", "")
    if not text:
        raise FrameRangeError("the frame range is empty")
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m:
            raise FrameRangeError(f"frame range '{spec}': cannot read '{part}' "
                                  "(expected 12, 1-100 or 1-100x2)")
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        step = int(m.group(3) or 1)
        if end < start or step < 1:
            raise FrameRangeError(f"frame range '{spec}': '{part}' is empty")
        frames.update(range(start, end + 1, step))
    return sorted(frames)


def format_frames(frames) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1-3,7,9-10' (what `parse_frames` reads back as the same list)."""
    out, frames = [], sorted(set(frames))
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        out.append(str(frames[i]) if i == j else f"{frames[i]}-{frames[j]}")
        i = j + 1
    return ",".join(out)


def range_spec(start: float, end: float, step: float = 1) -> str:
    """A DCC's (start, end, step) frame range as an engine range: `1-240x2`. DCCs store them as
    floats; the engine works on whole frames only."""
    values = [start, end, step]
    if any(abs(v - round(v)) > 1e-6 for v in values):
        raise FrameRangeError(f"frame range {start:g}-{end:g} step {step:g}: billow works on "
                              "whole frames only")
    a, b, s = (int(round(v)) for v in values)
    if s < 1:
        raise FrameRangeError(f"frame range step must be >= 1, got {s}")
    if b < a:
        raise FrameRangeError(f"frame range {a}-{b} is empty (end before start)")
    if a == b:
        return str(a)
    return f"{a}-{b}" if s == 1 else f"{a}-{b}x{s}"


@dataclass(frozen=True)
class Chunk:
    """One farm task: `--chunk size --chunk-index index` over the full `--frames` spec."""

    index: int
    size: int
    frames: tuple[int, ...]

    @property
    def label(self) -> str:
        return format_frames(list(self.frames))


def plan_chunks(frames: str | list[int], size: int) -> list[Chunk]:
    """Every chunk of `size` frames of the range, in order; together they cover each frame once,
    exactly as the engine's `--chunk size --chunk-index i` selects them."""
    if isinstance(size, bool) or int(size) != size or size < 1:
        raise FrameRangeError(f"frames per task must be a whole number >= 1, got {size}")
    size = int(size)
    listed = parse_frames(frames) if isinstance(frames, str) else sorted(set(frames))
    if not listed:
        raise FrameRangeError("no frames to split into tasks")
    return [Chunk(i, size, tuple(listed[i * size:(i + 1) * size]))
            for i in range((len(listed) + size - 1) // size)]


# ---- the progress protocol ---------------------------------------------------------------------

UNIT_EVENTS = ("frame", "iteration", "step", "skip")  # one unit of work done
ERROR_LINE = re.compile(r"^billow(?: [\w-]+)*: error: (.*)$")


def event_line(event: str, **fields) -> str:
    """One protocol line (without the newline), as the engine prints it."""
    return json.dumps({"event": event, **fields})


def parse_line(line: str) -> dict | None:
    """One stdout line -> an event dict; None for a blank line. A line that is not a protocol
    object (a stray print from a library) becomes {"event": "log", "text": line}."""
    text = line.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("event"), str):
            return obj
    return {"event": "log", "text": text}


def is_noise(line: str) -> bool:
    """A stderr line that is never the error: nanobind's "leaked ..." report after a crash."""
    return line.strip().startswith(("nanobind:", "- leaked ", "- ... skipped"))


def error_line(stderr: str | list[str]) -> str | None:
    """The engine's own one-line error (`billow upres: error: FILE: WHAT` -> `FILE: WHAT`), the
    last one if several; None when there is none."""
    lines = stderr.splitlines() if isinstance(stderr, str) else stderr
    for line in reversed(lines):
        m = ERROR_LINE.match(line.strip())
        if m:
            return m.group(1).strip()
    return None


def engine_error(stderr_lines: list[str], returncode: int | None) -> str:
    """The engine's own one-line error, else the last stderr line (a traceback's exception),
    else the exit code."""
    own = error_line(stderr_lines)
    if own:
        return own
    tail = [ln.strip() for ln in stderr_lines if ln.strip() and not is_noise(ln)]
    if tail:
        return tail[-1]
    return f"the engine stopped with exit code {returncode}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass
class ProgressState:
    """The progress of one run, folded from its events (`apply_event`)."""

    task: str = "upres"
    total: int = 0
    done: int = 0
    frame: int | None = None
    elapsed: float = 0.0
    finished: bool = False
    files: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        if self.finished:
            return 1.0
        return min(self.done / self.total, 1.0) if self.total > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, from the mean time per finished unit."""
        if self.done <= 0 or self.total <= 0 or self.elapsed <= 0:
            return None
        return self.elapsed / self.done * max(self.total - self.done, 0)

    def status(self) -> str:
        """One line for a status bar: `billow upres: frame 12 (3/48), 4.2 s, ~1 min left`."""
        if self.finished:
            return f"billow {self.task}: done, {self.done} frame(s) in {_duration(self.elapsed)}"
        if not self.total:
            return f"billow {self.task}: starting..."
        head = f"billow {self.task}: "
        head += f"frame {self.frame} " if self.frame is not None else ""
        text = f"{head}({self.done}/{self.total})"
        if self.elapsed:
            text += f", {_duration(self.elapsed)}"
        eta = self.eta
        if eta is not None and self.done < self.total:
            text += f", ~{_duration(eta)} left"
        return text


def apply_event(state: ProgressState, event: dict) -> ProgressState:
    """Fold one event into `state` (tolerant of missing fields and unknown events)."""
    kind = event.get("event")
    if kind == "start":
        state.total = int(event.get("total") or 0)
        state.task = str(event.get("task") or state.task)
    elif kind in UNIT_EVENTS:
        state.done = int(event.get("done", state.done + 1))
        state.total = int(event.get("total") or state.total)
        if event.get("frame") is not None:
            state.frame = int(event["frame"])
        state.elapsed = float(event.get("elapsed") or state.elapsed)
        if event.get("file"):
            state.files.append(str(event["file"]))
    elif kind in ("message", "warning", "log"):
        state.messages.append(str(event.get("text", "")))
    elif kind == "end":
        state.done = int(event.get("done", state.done))
        state.elapsed = float(event.get("elapsed") or state.elapsed)
        state.finished = True
    return state


class ProgressReader:
    """Feed it stdout lines; it keeps the state and returns each parsed event."""

    def __init__(self) -> None:
        self.state = ProgressState()

    def feed(self, line: str) -> dict | None:
        event = parse_line(line)
        if event is not None:
            apply_event(self.state, event)
        return event


# ---- launching the engine ----------------------------------------------------------------------

# the host's own Python settings must not leak into the engine's interpreter
LEAKY_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "PYTHONUSERBASE")


def engine_env(base: dict | None = None) -> dict[str, str]:
    """The environment for the engine subprocess: the host's, minus the variables that would make
    the engine's Python import the host's packages, with unbuffered output so progress arrives
    line by line."""
    env = dict(os.environ if base is None else base)
    for name in LEAKY_ENV:
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def popen_kwargs() -> dict:
    """Run the engine in its own process group, so a cancel reaches it (and its children) and a
    Ctrl+C in the host's terminal does not."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def send_signal(proc: subprocess.Popen, sig) -> None:
    """`sig` to the engine and its children (its own session, see `popen_kwargs`); SIGINT is a
    console break on Windows. Nothing when it has ended already."""
    if proc.poll() is not None:
        return
    try:
        if sys.platform == "win32":
            proc.send_signal(signal.CTRL_BREAK_EVENT if sig == signal.SIGINT else sig)
        elif proc.pid == os.getpgid(proc.pid):
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


def cancel_signal() -> int:
    """The signal that asks the engine to stop cleanly: SIGTERM on POSIX (it removes the
    temporary file of the frame it is writing and exits 143), a console break on Windows.
    Not SIGINT: a process started with SIGINT ignored (a shell's background job, a host that
    ignores it) passes that on, and Python then never raises KeyboardInterrupt, so the engine
    ran on until killed; the engine installs its SIGTERM handler itself."""
    return signal.SIGINT if sys.platform == "win32" else signal.SIGTERM


def stop(proc: subprocess.Popen, grace: float) -> None:
    """Ask the engine to stop (`cancel_signal`), kill it after `grace` seconds."""
    if proc.poll() is not None:
        return
    send_signal(proc, cancel_signal())
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        send_signal(proc, signal.SIGTERM if sys.platform == "win32" else signal.SIGKILL)
        proc.wait()


# ---- command lines -----------------------------------------------------------------------------

def number_text(x: float) -> str:
    """Shortest text that reads back as the same float (`1.0` -> `1`, `0.25` -> `0.25`)."""
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


def upres_argv(prefix, input_pattern: str, output_pattern: str, *, scale: int = 4,
               velocity_scale: float = 1.0, device: str = "cpu",
               frames: str | list[int] | tuple[int, ...] | None = None, model: str | None = None,
               mask: str | None = None, up_axis: str | None = None, fps: float | None = None,
               time_scale: float | None = None, detail_blend: float = 0.0,
               pass_through: str | list[str] | tuple[str, ...] | None = None,
               write_velocity: bool | None = None, half: bool | None = None,
               density_grid: str | None = None, velocity_grid: str | None = None,
               tile: int | None = None, threads: int = 0, skip_existing: bool = False,
               chunk: int | None = None, chunk_index: int | None = None,
               extra=(), progress: str = "json") -> list[str]:
    """The `billow upres` command line, a list for `subprocess` (never a shell string).

    `prefix` runs the engine (`["billow"]`, `[python, "-m", "billow"]`). Options left at None
    (or 0 / empty / False where that is the engine's default) are not written, so the engine's
    own default applies; `write_velocity` and `half` given as booleans are written either way.
    `frames` is a range (`1-10x2`) or a list of frame numbers. The caller checks the values
    against its own UI (and names its own fields in the message); the engine checks them too."""
    argv = [*prefix, "upres", str(input_pattern), str(output_pattern), "--scale", str(int(scale)),
            "--velocity-scale", number_text(velocity_scale), "--device", device]
    if up_axis:
        argv += ["--up-axis", up_axis]
    if model:
        argv += ["--model", str(model)]
    if frames is not None:
        argv += ["--frames", frames if isinstance(frames, str) else format_frames(frames)]
    if chunk is not None:
        argv += ["--chunk", str(int(chunk)), "--chunk-index", str(int(chunk_index))]
    if skip_existing:
        argv.append("--skip-existing")
    if mask:
        argv += ["--mask", mask]
    if density_grid:
        argv += ["--density-grid", density_grid]
    if velocity_grid:
        argv += ["--velocity-grid", velocity_grid]
    if pass_through is not None:
        names = pass_through.split(",") if isinstance(pass_through, str) else pass_through
        argv += ["--pass-through", ",".join(n.strip() for n in names if n.strip())]
    if write_velocity is not None:
        argv.append("--write-velocity" if write_velocity else "--no-write-velocity")
    if half is not None:
        argv.append("--half" if half else "--no-half")
    if detail_blend:
        argv += ["--detail-blend", number_text(detail_blend)]
    if fps:
        argv += ["--fps", number_text(fps)]
    if time_scale is not None:
        argv += ["--time-scale", number_text(time_scale)]
    if tile:
        argv += ["--tile", str(int(tile))]
    if threads:
        argv += ["--threads", str(int(threads))]
    return argv + [str(a) for a in extra] + ["--progress", progress]


def command_text(argv: list[str], posix: bool | None = None) -> str:
    """One shell-safe line (for logs, a node's info and farm work items)."""
    posix = (os.name != "nt") if posix is None else posix
    return shlex.join(argv) if posix else subprocess.list2cmdline(argv)
