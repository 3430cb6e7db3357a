"""A model card is checked against its network before any frame is written (a card that lies
would otherwise be believed: `scale: 2` on an x4 network writes an empty volume, `halo: 0`
silently breaks seam-free tiling).

One small probe, two network calls on a `(2 * (halo + 3) + 1)^D` input: random smoke, then the
same with the centre cell nudged in every channel.
- scale: the output's spatial shape must be the input's times the card's `scale`;
- channels: the network must accept the card's channel count and give one output channel;
- halo: the output voxels that change lie within the network's receptive radius of the nudged
  cell; the farthest (in input cells) is a lower bound of that radius, which the card's
  `halo` must reach (DESIGN.md, "Tiling without seams").
The verdict is cached per model file (path, size, modification time), card content and
backend, in memory and in `$XDG_CACHE_HOME/billow/card_checks.json`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..errors import InputError, shorten
from ..io.model_card import ModelCard

_MEMORY: dict[str, str] = {}
MARGIN = 3  # probe cells beyond the claimed halo, to see a network that reaches farther


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "billow" / "card_checks.json"


def _key(card: ModelCard, backend) -> str | None:
    if card.path is None:
        return None
    try:
        st = Path(card.path).stat()
        text = json.dumps(card.extra, sort_keys=True, default=str)
    except (OSError, TypeError):
        return None
    parts = [str(Path(card.path).resolve()), str(st.st_size), str(st.st_mtime_ns),
             getattr(backend, "name", "?"), hashlib.sha1(text.encode()).hexdigest()]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def _load_cache() -> dict:
    try:
        data = json.loads(_cache_file().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _store(key: str, verdict: str) -> None:
    data = _load_cache()
    data[key] = verdict
    if len(data) > 500:  # keep it small: the most recent entries
        data = dict(list(data.items())[-500:])
    path = _cache_file()
    try:  # a cache only: a read-only home costs a re-check next time, nothing more
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass


def probe(card: ModelCard, run) -> str:
    """'' if the card agrees with the network `run(x) -> y`, else what disagrees."""
    h, dim, s = card.halo, card.dim, card.scale
    n = 2 * (h + MARGIN) + 1
    c = h + MARGIN
    rng = np.random.default_rng(16)
    x = rng.random((1, len(card.inputs)) + (n,) * dim).astype(np.float32)
    x[:, 1:] = (x[:, 1:] - 0.5) * 0.5  # velocities of a few tenths of a cell per frame
    try:
        y0 = np.asarray(run(x))
    except Exception as e:  # the runtimes raise their own types for a wrong channel count
        return (f"the network cannot run on {len(card.inputs)} input channels "
                f"({', '.join(card.inputs)}) in {dim}D ({shorten(e, 100)})")
    if y0.ndim != dim + 2 or y0.shape[:2] != (1, 1):
        return f"the network's output has shape {tuple(y0.shape)}, expected (1, 1, ...{dim}D)"
    factors = {m / n for m in y0.shape[2:]}
    if factors != {float(s)}:
        got = ", ".join(f"{f:g}" for f in sorted(factors))
        return f"scale {s} in the card, but the network upsamples by {got}"
    x1 = x.copy()
    x1[(0, slice(None)) + (c,) * dim] += 0.5
    y1 = np.asarray(run(x1))
    diff = np.abs(y1 - y0)[0, 0]
    peak = float(diff.max())
    if peak > 0:
        # exact zeros lie beyond the receptive field; 1e-7 of the peak allows for rounding
        cells = np.argwhere(diff > peak * 1e-7) // s
        reach = int(np.abs(cells - c).max())
        if reach > h:
            return (f"halo {h} in the card, but the network reaches at least {reach} input "
                    "cells (its receptive radius): tiles would show seams")
    return ""


def check_card(card: ModelCard, backend) -> None:
    """Raise InputError (one line) if the card disagrees with the network behind `backend`."""
    key = _key(card, backend)
    verdict = _MEMORY.get(key) if key else None
    if verdict is None and key:
        verdict = _load_cache().get(key)
    if verdict is None:
        verdict = probe(card, backend.run)
        if key:
            _MEMORY[key] = verdict
            _store(key, verdict)
    if verdict:
        where = card.path.with_suffix(".json") if card.path else card.name
        raise InputError(f"{where}: the card does not match its network: {verdict}")
