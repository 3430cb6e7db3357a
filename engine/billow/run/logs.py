"""A run's loss log: one JSON object per line in RUN/log.jsonl, and TensorBoard scalars when
it is installed (or asked for)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import MissingDependencyError


class RunLog:
    """`RunLog(out, tensorboard, key)`: each `write(n, scalars)` appends `{key: n, **scalars}`.
    Opened by `open()`, closed by `close()` (both safe to call twice)."""

    def __init__(self, out: Path, tensorboard: str, key: str):
        self.out, self.tensorboard, self.key = Path(out), tensorboard, key
        self.file = None
        self.writer = None

    def open(self) -> RunLog:
        self.file = open(self.out / "log.jsonl", "a")  # noqa: SIM115 - closed by close()
        if self.tensorboard == "off":
            return self
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            if self.tensorboard == "on":
                raise MissingDependencyError("--tensorboard on: install the `train` extra "
                                             "(pip install 'billow[train]')") from e
            return self
        self.writer = SummaryWriter(str(self.out / "tensorboard"))
        return self

    def write(self, n: int, scalars: dict) -> None:
        if self.file is not None:
            self.file.write(json.dumps({self.key: n, **scalars}) + "\n")
            self.file.flush()
        if self.writer is not None:
            for k, v in scalars.items():
                self.writer.add_scalar(k, v, n)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None
