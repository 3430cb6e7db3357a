"""The engine's `--progress json` lines, and the small status object that is the only state the
worker thread shares with Blender's main thread (STYLE.md rule 7)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

# the protocol's reader is the engine's client (vendored); core.job and core.server
# take these names from here
from ..vendor.billow_client import engine_error, parse_line  # noqa: F401


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
