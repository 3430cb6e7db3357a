"""Progress for long commands: a bar on a terminal, plain lines in logs, or with
`--progress json` one JSON object per line on stdout for DCC add-ons and farm wrappers (the
protocol's lines are written and read by `billow.client`, which the add-ons share):

    {"event": "start", "total": 48, "task": "upres"}
    {"event": "frame", "frame": 12, "done": 3, "total": 48, "elapsed": 4.2, "eta": 63.0, ...}
    {"event": "end", "done": 48, "total": 48, "elapsed": 95.0}

`eta` is the estimated seconds left (the mean time per unit so far times the units left); log
lines show it as `eta 1m03s`, the terminal bar shows tqdm's own.
"""

from __future__ import annotations

import sys
import time

from .client import event_line

MODES = ("auto", "bar", "log", "json", "none")


def format_seconds(seconds: float) -> str:
    """`42s`, `3m05s`, `2h07m`: short enough for a log line."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Progress:
    def __init__(self, total: int, task: str, mode: str = "auto"):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode, self.total, self.task, self.done = mode, total, task, 0
        self.start = time.perf_counter()
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=task, unit="frame", file=sys.stderr)
        self._emit("start", total=total, task=task)

    def _emit(self, event: str, **fields) -> None:
        if self.mode == "json":
            print(event_line(event, **fields), flush=True)

    def step(self, event: str = "frame", **fields) -> None:
        """One unit of work finished; `fields` describe it (frame number, file, timings)."""
        self.done += 1
        elapsed = round(time.perf_counter() - self.start, 3)
        eta = round(elapsed / self.done * max(self.total - self.done, 0), 1)
        self._emit(event, done=self.done, total=self.total, elapsed=elapsed, eta=eta, **fields)
        if self._bar is not None:
            # short numeric fields (losses, timings) ride along on the bar
            shown = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in fields.items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool)}
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(1)
        elif self.mode == "log":
            detail = " ".join(f"{k}={v}" for k, v in fields.items())
            print(f"[{self.task}] {self.done}/{self.total} eta {format_seconds(eta)} {detail}",
                  file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        if self.mode == "json":
            self._emit("message", text=text)
        elif self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        elif self.mode != "none":
            print(text, file=sys.stderr, flush=True)

    def warn(self, text: str) -> None:
        """Like `message`, but shown in every mode: `none` hides progress, not warnings."""
        if self.mode == "json":
            self._emit("warning", text=text)
        elif self._bar is not None:
            self._bar.write(f"warning: {text}", file=sys.stderr)
        else:
            print(f"warning: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._emit("end", done=self.done, total=self.total,
                   elapsed=round(time.perf_counter() - self.start, 3))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
