"""The engine's `--progress json` lines, and the small status object that is the only state the
worker thread shares with Blender's main thread (STYLE.md rule 7)."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field, replace

ERROR_LINE = re.compile(r"^billow(?: [\w-]+)?: error: (.*)$")


def parse_line(line: str) -> dict:
    """One stdout line -> an event dict. Lines that are not JSON objects (a stray print from a
    library) become {"event": "log", "text": line}."""
    text = line.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("event"), str):
            return obj
    return {"event": "log", "text": text}


def _noise(line: str) -> bool:
    text = line.strip()
    return text.startswith(("nanobind:", "- leaked ", "- ... skipped"))


def engine_error(stderr_lines: list[str], returncode: int | None) -> str:
    """The engine's own one-line error (`billow upres: error: FILE: WHAT` -> `FILE: WHAT`), else
    the last stderr line (a traceback's exception), else the exit code."""
    for line in reversed(stderr_lines):
        m = ERROR_LINE.match(line.strip())
        if m:
            return m.group(1)
    # nanobind's "leaked ..." report after a crash is never the error
    tail = [ln.strip() for ln in stderr_lines if ln.strip() and not _noise(ln)]
    if tail:
        return tail[-1]
    return f"the engine stopped with exit code {returncode}"


@dataclass(frozen=True)
class Snapshot:
    """What the UI reads: an immutable copy of the status."""

    state: str = "idle"       # idle | running | cancelling | done | failed | cancelled
    done: int = 0
    total: int = 0
    frame: int | None = None
    elapsed: float = 0.0
    message: str = ""
    error: str = ""
    returncode: int | None = None
    files: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def text(self, task: str = "billow upres") -> str:
        """Status-bar text: `billow upres: frame 12 (3/48), 41 s left - Esc to cancel`."""
        if self.state == "failed":
            return f"{task} failed: {self.error}"
        if self.state == "cancelled":
            return f"{task} cancelled after {self.done}/{self.total} frames"
        if self.state == "done":
            return f"{task}: {self.done} frame{'s' * (self.done != 1)} in {self.elapsed:.1f} s"
        if self.state == "cancelling":
            return f"{task}: cancelling..."
        if not self.total:
            return f"{task}: starting the engine... (Esc to cancel)"
        left = ""
        if self.done and self.elapsed > 0:
            left = f", {self.elapsed / self.done * (self.total - self.done):.0f} s left"
        where = f"frame {self.frame} " if self.frame is not None else ""
        return f"{task}: {where}({self.done}/{self.total}){left} - Esc to cancel"


@dataclass
class Status:
    """Thread-safe status: the worker applies events, the UI takes snapshots."""

    _snap: Snapshot = field(default_factory=Snapshot)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    def set(self, **changes) -> None:
        with self._lock:
            self._snap = replace(self._snap, **changes)

    def apply(self, event: dict) -> None:
        """Fold one progress event into the status."""
        kind = event.get("event")
        with self._lock:
            s = self._snap
            if kind == "start":
                s = replace(s, total=int(event.get("total", 0)))
            elif kind == "frame":
                files = s.files + ((str(event["file"]),) if event.get("file") else ())
                s = replace(s, done=int(event.get("done", s.done + 1)),
                            total=int(event.get("total", s.total)), frame=event.get("frame"),
                            elapsed=float(event.get("elapsed", s.elapsed)), files=files)
            elif kind == "message":
                s = replace(s, message=str(event.get("text", "")))
            elif kind == "end":
                s = replace(s, elapsed=float(event.get("elapsed", s.elapsed)))
            self._snap = s
