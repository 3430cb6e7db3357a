"""Paired training data written by `billow dataset` (format "billow-pairs/1", owned and read
by `billow.io.pairs`) and the tile sampler. The split into training and validation is by
SIMULATION, never by frame order (neighbouring frames are nearly identical, so a frame split
validates on the training set).

A sample is three consecutive frames t-1, t, t+1 of one simulation, augmented with one shared
transform, with `context` low-res cells of real data around the `tile` (for the advection
layer and the generator's border): lr (3, 1 + D, *s) = density, velocity; hr (3, 1, *S).
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..io.pairs import FORMAT, LR_BOX_ARRAYS, npz_shapes, read_manifest, sim_id
from .augment import (
    AugmentConfig,
    random_amplitude,
    random_transform,
    resample,
    tile_grid,
    valid_centres,
)

# what training reads of each simulation (hr_velocity is not needed)
ARRAYS = ("lr_density", "lr_velocity", "hr_density")
# --dense-tiles: a dense tile's low-res mean density is at least this times the frame's s_d
# (the density-weighted mean density): inside a fill, not at its thin edge
DENSE_LEVEL = 0.5


@dataclass(frozen=True)
class SimInfo:
    id: str
    file: Path
    frames: int
    has_box: bool = False
    root: Path | None = None  # the folder it comes from
    lr_res: tuple[int, ...] = ()  # its low-res size (folders trained together may differ)
    name: str = ""  # its id within its folder (names its cache)


def _folders(root) -> list[Path]:
    """One data folder (str or Path) or several (a list or tuple of them)."""
    roots = [root] if isinstance(root, (str, os.PathLike)) else list(root)
    if not roots:
        raise InputError("--data: no training data folder given")
    return [Path(r) for r in roots]


class PairedData:
    """A validated `billow dataset` folder, or several trained together (`--data A --data B`);
    simulations load on first use and stay cached.

    Several folders must share the dimension and the factor (refused otherwise); their sims
    are pooled (drawn uniformly, so each folder's share of the tiles is its share of the
    sims) under ids "FOLDER/sim_NNNN" (FOLDER the folder's name, or "i-NAME" when two folders
    share a name), split into training and validation folder by folder. Their resolutions may
    differ: `lr_res` / `hr_res` are then the smallest size on each axis (what a tile must fit)
    and each `SimInfo` carries its own."""

    def __init__(self, root: str | Path | list | tuple, factor: int = 4):
        roots = _folders(root)
        if len(roots) > 1:  # mismatched folders first, in one line, then the factor wanted
            manifests = [read_manifest(r) for r in roots]
            for key, what in (("dim", "dimension"), ("factor", "factor")):
                if len({getattr(m, key) for m in manifests}) > 1:
                    listed = ", ".join(f"{m.root} {getattr(m, key)}" for m in manifests)
                    raise InputError(f"--data: the folders differ in {what} ({listed}); "
                                     f"folders trained together must share one {what}")
        manifests = [read_manifest(r, factor=factor) for r in roots]
        first = manifests[0]
        self.root, self.dim, self.factor = first.root, first.dim, first.factor
        self.roots = [m.root for m in manifests]
        self.meta = first.meta if len(manifests) == 1 else {
            "format": FORMAT, "dim": self.dim, "factor": self.factor,
            "folders": [m.meta for m in manifests]}
        self.lr_res = tuple(min(r) for r in zip(*(m.lr_res for m in manifests)))
        self.hr_res = tuple(n * self.factor for n in self.lr_res)
        self._folder_ids: list[list[str]] = []
        names = [m.root.name for m in manifests]
        self.sims: dict[str, SimInfo] = {}
        for i, m in enumerate(manifests):
            prefix = "" if len(manifests) == 1 else (
                f"{m.root.name}/" if names.count(m.root.name) == 1 else f"{i}-{m.root.name}/")
            before = set(self.sims)
            for entry in m.sims:
                self._add(entry, m, prefix)
            self._folder_ids.append(sorted(set(self.sims) - before))
        self._maps: dict[str, dict[str, np.ndarray]] = {}
        self._scales: dict[tuple[str, str], np.ndarray] = {}
        self._cache_roots: dict[Path, Path] = {}

    def _add(self, entry, m, prefix: str = "") -> None:
        path = m.root / entry["file"]
        manifest = m.path
        local = sim_id(entry)
        sid = prefix + local
        if not path.is_file():
            raise InputError(f"{path}: listed in {manifest.name} but missing")
        try:
            heads = npz_shapes(path)
        except (OSError, zipfile.BadZipFile, ValueError) as e:
            raise InputError(f"{path}: not a readable .npz ({e})") from e
        d = self.dim
        frames = None
        for name in ARRAYS:
            if name not in heads:
                raise InputError(f"{path}: array '{name}' missing")
            shape = heads[name]
            res = m.hr_res if name.startswith("hr") else m.lr_res
            expect = (d,) + res if name.endswith("velocity") else res
            if len(shape) != len(expect) + 1 or tuple(shape[1:]) != expect:
                raise InputError(f"{path}: '{name}' has shape {shape}, manifest says "
                                 f"(T, {', '.join(map(str, expect))}) (dim {d})")
            if frames is not None and shape[0] != frames:
                raise InputError(f"{path}: arrays disagree on the frame count")
            frames = shape[0]
        if frames < 3:
            raise InputError(f"{path}: {frames} frames; training needs at least 3")
        if sid in self.sims:
            raise InputError(f"{manifest}: simulation id '{sid}' listed twice")
        has_box = all(k in heads and tuple(heads[k]) == tuple(heads[k.replace("_box", "")])
                      for k in LR_BOX_ARRAYS)
        self.sims[sid] = SimInfo(sid, path, frames, has_box, m.root, m.lr_res, local)

    def _cache_dir(self, root: Path | None = None) -> Path:
        """Where the decompressed arrays of `root`'s sims live: ROOT/.billow-cache if writable,
        else a folder in the system temp dir keyed by the data path."""
        root = self.root if root is None else root
        if root not in self._cache_roots:
            own = root / ".billow-cache"
            try:
                own.mkdir(exist_ok=True)
                probe = own / f".probe-{os.getpid()}"
                probe.touch()
                probe.unlink()
                self._cache_roots[root] = own
            except OSError:
                key = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12]
                cache = Path(tempfile.gettempdir()) / f"billow-cache-{key}"
                cache.mkdir(exist_ok=True)
                self._cache_roots[root] = cache
        return self._cache_roots[root]

    def load(self, sid: str) -> dict[str, np.ndarray]:
        """The arrays of one simulation, memory-mapped (float16 .npy decompressed once from
        the .npz next to a stamp of its size and time), so tiles read only what they need and
        3D data sets larger than memory train fine."""
        if sid in self._maps:
            return self._maps[sid]
        info = self.sims[sid]
        names = ARRAYS + (LR_BOX_ARRAYS if info.has_box else ())
        folder = self._cache_dir(info.root) / (info.name or sid)
        st = info.file.stat()
        stamp = f"{st.st_size}-{st.st_mtime_ns}-{len(names)}"
        stamp_file = folder / "stamp"
        try:
            if not (stamp_file.is_file() and stamp_file.read_text() == stamp):
                folder.mkdir(parents=True, exist_ok=True)
                with np.load(info.file) as z:
                    for k in names:
                        tmp = folder / f".{k}.tmp-{os.getpid()}.npy"
                        np.save(tmp, np.asarray(z[k], np.float16))
                        os.replace(tmp, folder / f"{k}.npy")
                stamp_file.write_text(stamp)
            self._maps[sid] = {k: np.load(folder / f"{k}.npy", mmap_mode="r") for k in names}
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise InputError(f"{info.file}: cannot read ({e})") from e
        return self._maps[sid]

    def frame_scales(self, sid: str, prefix: str = "lr") -> np.ndarray:
        """(T, 2) whole-frame normalisation scales (s_d, s_v) of each low-res frame of one
        simulation (`billow.ops.normalise`), from the `prefix` derivation ("lr" or "lr_box"):
        the same numbers `billow upres` computes on a frame of a cache."""
        key = (sid, prefix)
        if key not in self._scales:
            from ..ops.normalise import frame_scales

            sim = self.load(sid)
            d, v = sim[f"{prefix}_density"], sim[f"{prefix}_velocity"]
            self._scales[key] = np.array([
                frame_scales(np.asarray(d[t], np.float32),
                             np.moveaxis(np.asarray(v[t], np.float32), 0, -1))
                for t in range(d.shape[0])])
        return self._scales[key]

    @property
    def label(self) -> str:
        """The data folder, or the folders joined with ' + ', for messages."""
        return " + ".join(str(r) for r in self.roots)

    def split(self, val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
        """(training ids, validation ids), split by simulation with a seeded permutation
        (folder by folder when there are several, so each has its share of validation)."""
        train, val = [], []
        for ids in self._folder_ids:
            t, v = _split(ids, val_fraction, seed)
            train += t
            val += v
        return train, val

    def describe(self) -> dict:
        paths = [str(r.resolve()) for r in self.roots]
        out = {"path": paths[0] if len(paths) == 1 else paths, "format": FORMAT,
               "dim": self.dim, "factor": self.factor, "lr_res": list(self.lr_res),
               "hr_res": list(self.hr_res),
               "sims": {s.id: s.frames for s in self.sims.values()}}
        if len(paths) > 1:
            out["folders"] = [{"path": p, "sims": len(ids), "lr_res": list(self.sims[ids[0]].lr_res)}
                              for p, ids in zip(paths, self._folder_ids)]
        return out


def _split(ids: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    ids = sorted(ids)
    n_val = 0 if len(ids) < 2 else min(len(ids) - 1, max(1, round(val_fraction * len(ids))))
    if val_fraction <= 0:
        n_val = 0
    order = torch.randperm(len(ids), generator=torch.Generator().manual_seed(seed)).tolist()
    val = sorted(ids[i] for i in order[:n_val])
    return [i for i in ids if i not in val], val


def _read(array: np.ndarray, frames: slice, box: tuple) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array[(frames, *box)], dtype=np.float32))


class TileSampler:
    """Random augmented training tiles; all randomness comes from `generator` (checkpointed)."""

    def __init__(self, data: PairedData, sim_ids: list[str], tile: int, context: int,
                 augment: AugmentConfig, generator: torch.Generator, max_tries: int = 500,
                 relative_density: bool = False):
        if not sim_ids:
            raise InputError(f"{data.label}: no simulations to sample from")
        n = tile + 2 * context
        for sid in sim_ids:
            info = data.sims[sid]
            res = info.lr_res or data.lr_res
            if any(n > r for r in res):
                raise InputError(f"{info.root or data.root}: tile {tile} + 2 x context "
                                 f"{context} low-res cells does not fit the low-res size {res}")
        self.data, self.ids, self.tile, self.context = data, list(sim_ids), tile, context
        self.cfg, self.gen, self.max_tries = augment, generator, max_tries
        # models with whole-frame normalisation: --min-density is relative to the frame's
        # density scale s_d, so thin smoke is sampled as often as dense smoke
        self.relative_density = relative_density
        self.rejected = 0

    def _centre(self, m: torch.Tensor, wall: bool = False,
                lr_res: tuple[int, ...] | None = None) -> torch.Tensor | None:
        n = self.tile + 2 * self.context
        lr_res = lr_res or self.data.lr_res
        ranges = valid_centres(m, n, lr_res)
        if ranges is None:
            return None
        if wall:  # centres up to one cell from the wall: at most half the tile lies beyond it
            ranges = [(1.0, size - 1.0) for size in lr_res]
        out = []
        for lo, hi in ranges:
            # whole-cell offsets (exact sampling without rotation) where possible
            k_lo, k_hi = math.ceil(lo - n / 2 - 1e-9), math.floor(hi - n / 2 + 1e-9)
            if k_lo <= k_hi:
                k = k_lo + int(torch.randint(k_hi - k_lo + 1, (1,), generator=self.gen))
                out.append(n / 2 + k)
            else:
                out.append(lo + (hi - lo) * float(torch.rand(1, generator=self.gen)))
        return torch.tensor(out, dtype=torch.float64)

    def _one(self):
        d, f, n, c = self.data.dim, self.data.factor, self.tile + 2 * self.context, self.context
        misfits = 0
        for _ in range(self.max_tries):
            sid = self.ids[int(torch.randint(len(self.ids), (1,), generator=self.gen))]
            info = self.data.sims[sid]
            t = 1 + int(torch.randint(info.frames - 2, (1,), generator=self.gen))
            m = random_transform(d, self.cfg, self.gen)
            # drawn only when enabled, so runs without it keep their random stream
            wall = self.cfg.wall_tiles > 0 and float(
                torch.rand(1, generator=self.gen)) < self.cfg.wall_tiles
            # drawn only when enabled, as above
            dense = self.cfg.dense_tiles > 0 and float(
                torch.rand(1, generator=self.gen)) < self.cfg.dense_tiles
            beyond = "zeros" if wall else "border"
            lr_res = info.lr_res or self.data.lr_res
            centre = self._centre(m, wall, lr_res)
            if centre is None:  # zoomed-out rotated tile does not fit: draw again
                misfits += 1
                continue
            sim = self.data.load(sid)
            prefix = "lr"
            if self.cfg.augment and self.cfg.box_input > 0 and info.has_box and float(
                    torch.rand(1, generator=self.gen)) < self.cfg.box_input:
                prefix = "lr_box"
            # read only the low-res cells the rotated tile touches (+1 for interpolation)
            ext = (m.abs().sum(dim=1) * n / 2.0).tolist()
            box = [(max(0, math.floor(c_ - e - 0.5) - 1), min(size, math.ceil(c_ + e - 0.5) + 2))
                   for c_, e, size in zip(centre.tolist(), ext, lr_res)]
            lo = torch.tensor([a for a, _ in box], dtype=torch.float64)
            shape = tuple(b - a for a, b in box)
            lr_box = tuple(slice(a, b) for a, b in box)
            hr_box = tuple(slice(f * a, f * b) for a, b in box)
            grid = tile_grid(m, centre - lo, n, 1, shape)
            rho = resample(_read(sim[f"{prefix}_density"], slice(t - 1, t + 2), lr_box), grid,
                           beyond=beyond)
            core = rho[(1,) + (slice(c, n - c),) * d] if c else rho[1]
            unit = float(self.data.frame_scales(sid, prefix)[t, 0]) if self.relative_density \
                else 1.0
            level = self.cfg.min_density * unit
            if dense:
                level = max(level, DENSE_LEVEL * float(self.data.frame_scales(sid, prefix)[t, 0]))
            if float(core.mean()) < level:
                self.rejected += 1
                continue
            vel = _read(sim[f"{prefix}_velocity"], slice(t - 1, t + 2), (slice(None),) + lr_box)
            vel = torch.stack([resample(vel[i], grid, m, beyond) for i in range(3)])
            hr = resample(_read(sim["hr_density"], slice(t - 1, t + 2), hr_box),
                          tile_grid(m, centre - lo, n, f, shape), beyond=beyond)
            a = random_amplitude(self.cfg, self.gen)  # after the density test: same tiles
            lr = torch.cat([a * rho.unsqueeze(1), vel], dim=1)
            scales = torch.from_numpy(self.data.frame_scales(sid, prefix)[t - 1:t + 2].copy())
            # the amplitude factor scales s_d with the density; a zoom scales speeds, so s_v
            # follows it (|det M|^(1/D) is the zoom, rotations and flips keep it)
            zoom = float(abs(torch.linalg.det(m.double()))) ** (-1.0 / d)
            scales = scales * torch.tensor([a, zoom], dtype=scales.dtype)
            return lr, a * hr.unsqueeze(1), scales.float()
        if misfits > self.max_tries // 2:
            raise InputError(f"{self.data.label}: a rotated, zoomed tile of {n} low-res cells "
                             f"(tile + 2 x context) rarely fits the low-res size "
                             f"{self.data.lr_res}; lower --tile or --rotate-deg")
        raise InputError(f"{self.data.label}: no tile of {self.tile} low-res cells with mean "
                         f"density >= {self.cfg.min_density} in {self.max_tries} tries; lower "
                         "--min-density or --tile, or check the data")

    def sample(self, batch: int, scales: bool = False):
        """lr (N, 3, 1 + D, *s) and hr (N, 3, 1, *S) for frames t-1, t, t+1, with context;
        with `scales`, also the whole-frame normalisation scales (N, 3, 2) = (s_d, s_v) of
        each tile's three frames (what inference would compute on those frames)."""
        items = [self._one() for _ in range(batch)]
        out = torch.stack([i[0] for i in items]), torch.stack([i[1] for i in items])
        return (*out, torch.stack([i[2] for i in items])) if scales else out
