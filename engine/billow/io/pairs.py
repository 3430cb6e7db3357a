"""The paired-data format "billow-pairs/1": the one owner of its name, layout and reading.

`billow dataset` (`billow.sim.dataset`, whose writer `tools/phiflow_dataset.py` also uses for
PhiFlow's smoke) writes it; training (`billow.train.data.PairedData`, one folder or several),
the held-out benchmarks and tests read it through `read_manifest` / `load_pairs` here.

Layout of `DIR`:

    manifest.json      {"format": "billow-pairs/1", "dim", "factor", "hr_res", "lr_res",
                        "frames", "dt", "blur_sigma", "units", "up_axis", "seed",
                        "sims": [{"id", "file", "seed", "scene"}], "created_by", "fps",
                        "settings", "scenes"}
    sim_0000.npz       hr_density (T, X, Y[, Z]) float16
                       hr_velocity (T, D, X, Y[, Z]) float16, high-res cells per frame
                       lr_density (T, x, y[, z]) float16
                       lr_velocity (T, D, x, y[, z]) float16, low-res cells per frame
                       [lr_sim_density, lr_sim_velocity]  an independent low-res simulation
                       [lr_box_density, lr_box_velocity]  the box-average derivation
    vdb/sim_0000/{hr,lr,lr_sim}.####.vdb   optional: the same frames as VDB (world/s)

Axes are [x, y, z] with y up; velocity component d is along axis d, cell-centred; `dt` = 1.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

FORMAT = "billow-pairs/1"
MANIFEST = "manifest.json"
ARRAYS = ("hr_density", "hr_velocity", "lr_density", "lr_velocity")
LR_SIM_ARRAYS = ("lr_sim_density", "lr_sim_velocity")
# a second derivation of the low-res input: the plain f^D box average of each low-res cell's
# high-res cells (what many tools' "resample to a coarser voxel size" does). Training on both
# keeps the model from learning to undo one exact blur (issue 17).
LR_BOX_ARRAYS = ("lr_box_density", "lr_box_velocity")
UNITS = {"velocity": "cells of its own grid per frame",
         "density": "dimensionless, inflow value 1"}


def npz_shapes(path: Path) -> dict[str, tuple]:
    """Array name -> shape of an .npz, read from the .npy headers only (no data decompressed).
    Raises OSError, ValueError or zipfile.BadZipFile on an unreadable file."""
    shapes = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if not name.endswith(".npy"):
                continue
            with z.open(name) as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shapes[name[:-4]] = read(f)[0]
    return shapes


def _res(value, dim: int, what: str, path: Path) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * dim
    if isinstance(value, (list, tuple)) and len(value) == dim and all(isinstance(v, int)
                                                                       for v in value):
        return tuple(value)
    raise InputError(f"{path}: '{what}' must be an integer or {dim} integers, got {value!r}")


@dataclass(frozen=True)
class Manifest:
    """A checked manifest: the raw JSON (`meta`) and its fields every reader needs."""

    root: Path
    meta: dict
    dim: int
    factor: int
    lr_res: tuple[int, ...]
    hr_res: tuple[int, ...]

    @property
    def path(self) -> Path:
        return self.root / MANIFEST

    @property
    def sims(self) -> list[dict]:
        return self.meta["sims"]


def read_manifest(root: str | Path, *, factor: int | None = None) -> Manifest:
    """The checked manifest of a `billow dataset` folder; one line naming the file otherwise.
    `factor`: the up-sampling factor the caller needs (refused when the data has another)."""
    root = Path(root)
    manifest = root / MANIFEST
    if not root.is_dir():
        raise InputError(f"{root}: training data folder not found (make one with "
                         "`billow dataset --out DIR`)")
    if not manifest.is_file():
        raise InputError(f"{manifest}: no manifest; is {root} a `billow dataset` folder?")
    try:
        meta = json.loads(manifest.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{manifest}: unreadable manifest ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{manifest}: format must be '{FORMAT}', got "
                         f"{meta.get('format') if isinstance(meta, dict) else meta!r}")
    dim = meta.get("dim")
    if dim not in (2, 3):
        raise InputError(f"{manifest}: 'dim' must be 2 or 3, got {dim!r}")
    got = meta.get("factor")
    if factor is not None and got != factor:
        raise InputError(f"{manifest}: factor {got!r}, but the generators up-sample by {factor}")
    if not isinstance(got, int) or isinstance(got, bool) or got < 1:
        raise InputError(f"{manifest}: 'factor' must be a positive integer, got {got!r}")
    lr_res = _res(meta.get("lr_res"), dim, "lr_res", manifest)
    hr_res = _res(meta.get("hr_res"), dim, "hr_res", manifest)
    if tuple(n * got for n in lr_res) != hr_res:
        raise InputError(f"{manifest}: hr_res {hr_res} is not {got} x lr_res {lr_res}")
    sims = meta.get("sims")
    if not isinstance(sims, list) or not sims:
        raise InputError(f"{manifest}: 'sims' lists no simulations")
    for entry in sims:
        if not isinstance(entry, dict) or "file" not in entry:
            raise InputError(f"{manifest}: each entry of 'sims' needs a 'file'")
    return Manifest(root, meta, dim, got, lr_res, hr_res)


def sim_id(entry: dict) -> str:
    """A simulation's id: its manifest `id`, else its file's stem."""
    return str(entry.get("id", Path(entry["file"]).stem))


class PairSim(Mapping):
    """One simulation of a data set: its arrays, each read from the .npz when first asked for
    (a default 3D sim holds about 2 GB of float16), as `dtype`; plus "id" and "seed"."""

    def __init__(self, path: Path, entry: dict, dtype=None):
        self.path, self.entry, self.dtype = path, entry, dtype
        try:
            with np.load(path) as z:
                self._names = list(z.files)
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: cannot read ({e})") from e
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str):
        if key in ("id", "seed"):
            return self.entry[key]
        if key not in self._names:
            raise KeyError(key)
        if key not in self._cache:
            with np.load(self.path) as z:
                a = z[key]
            self._cache[key] = a if self.dtype is None else a.astype(self.dtype)
        return self._cache[key]

    def __iter__(self):
        return iter(["id", "seed", *self._names])

    def __len__(self) -> int:
        return 2 + len(self._names)


def load_pairs(directory: str | Path, *, sims: list[str] | None = None,
               dtype=None) -> tuple[dict, list[PairSim]]:
    """(manifest, [one `PairSim` per simulation]) of a `billow dataset` folder. Each PairSim
    is a read-only mapping: "id", "seed" and the arrays (hr_density, hr_velocity, lr_density,
    lr_velocity[, lr_sim_*, lr_box_*]) loaded lazily, as stored (float16) or as `dtype`.
    `sims` picks sim ids (default: all).

        manifest, sims = load_pairs("data/")
        sims[0]["hr_density"].shape  # (T, 128, 128, 128)
    """
    m = read_manifest(directory)
    return m.meta, [PairSim(m.root / e["file"], e, dtype) for e in m.sims
                    if sims is None or sim_id(e) in sims]
