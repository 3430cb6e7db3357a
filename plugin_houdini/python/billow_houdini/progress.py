"""The engine's `--progress json` stream -> a small progress state. Plain Python, no `hou`.

The engine prints one JSON object per line on stdout:

    {"event": "start", "total": 48, "task": "upres"}
    {"event": "frame", "frame": 12, "done": 3, "total": 48, "elapsed": 4.2, "file": ...}
    {"event": "message", "text": "..."}
    {"event": "end", "done": 48, "total": 48, "elapsed": 95.0}

Anything else on stdout (a library printing a warning) is kept as a message, never an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class ProgressState:
    """What the UI shows: the only state shared between the engine reader and the host."""

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
        """Seconds left, from the mean time per finished frame."""
        if self.done <= 0 or self.total <= 0 or self.elapsed <= 0:
            return None
        return self.elapsed / self.done * max(self.total - self.done, 0)

    def status(self) -> str:
        """One line for the status bar: `billow upres: frame 12 (3/48), 4.2 s, ~1 min left`."""
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


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def parse_line(line: str) -> dict | None:
    """One stdout line -> an event dict, or None for a blank line. Non-JSON text becomes
    `{"event": "message", "text": line}`."""
    text = line.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("event"), str):
            return obj
    return {"event": "message", "text": text}


def apply_event(state: ProgressState, event: dict) -> ProgressState:
    """Fold one event into the state (tolerant of missing fields and unknown events)."""
    kind = event.get("event")
    if kind == "start":
        state.total = int(event.get("total") or 0)
        state.task = str(event.get("task") or state.task)
    elif kind in ("frame", "skip", "step"):
        state.done = int(event.get("done", state.done + 1))
        state.total = int(event.get("total") or state.total)
        if event.get("frame") is not None:
            state.frame = int(event["frame"])
        state.elapsed = float(event.get("elapsed") or state.elapsed)
        if event.get("file"):
            state.files.append(str(event["file"]))
    elif kind == "message":
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
