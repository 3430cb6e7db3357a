"""A training run's folder: created once with its config, a checkpoint written atomically and
read back with weights-only loading, and the hardware it ran on (recorded in checkpoints and
model cards)."""

from __future__ import annotations

import os
import pickle
import platform
from pathlib import Path

import torch

from ..errors import InputError, OutputError
from ..io.atomic import atomic_path

CHECKPOINT = "checkpoint.pt"


def hardware() -> str:
    """The device a run trains on, in words (the first CUDA device, else the CPU)."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"


def create(out: Path, files: dict[str, str]) -> None:
    """Make the run folder and write its text files (config, split) atomically."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create run folder ({e.strerror})") from e
    for name, text in files.items():
        with atomic_path(out / name) as tmp:
            Path(tmp).write_text(text)


def refuse_existing(out: Path) -> None:
    """A new run never overwrites one: its folder must not hold a checkpoint yet."""
    if (out / CHECKPOINT).exists():
        raise InputError(f"{out}: already holds a training run; pass --resume to continue it "
                         "or choose a new --out")


def save_checkpoint(state: dict, path: Path) -> Path:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | Path, fmt: str, train_command: str) -> dict:
    """A run folder's (or a file's) checkpoint, loaded with `weights_only` (no code runs), or
    one line naming the file and what to do; `fmt` is the checkpoint format expected."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise InputError(f"{path}: no checkpoint (train a model with `{train_command}` first)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError,
            AttributeError) as e:  # corrupt file, or objects that weights_only refuses
        raise InputError(f"{path}: not a loadable billow checkpoint ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:120]})") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        raise InputError(f"{path}: not a {fmt} checkpoint (from `{train_command}`)")
    return ckpt


def rng_state(gen: torch.Generator) -> dict:
    """The random state a checkpoint keeps: torch's global generator and the run's sampler."""
    return {"torch": torch.get_rng_state(), "sampler": gen.get_state()}


def restore_rng(state: dict, gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    gen.set_state(state["sampler"])
