"""Paired training data (dissertation Sec. 3.4.1, App. A.2): randomised scenes simulated at high
resolution, with the low-res input derived exactly as the reference data (Gaussian blur with
sigma = factor / (2 sqrt(pi)) high-res cells, then linear sampling at the low-res cell centres:
`billow.ops.downsample`), optionally also simulated independently at low resolution.

The data set's format ("billow-pairs/1": manifest.json and one sim_NNNN.npz per simulation) is
owned by `billow.io.pairs`, which also reads it. A sim is written (atomically) when all its
frames are done, and the manifest lists only finished sims, so an interrupted run resumes by
skipping the sims whose files are complete.

The writing is solver-independent and shared: `pairs_header` (the manifest), `FramePairs` (a
sim's arrays, frame by frame, with the low-res derivations) and `write_pairs` (resume, atomic
files, manifest); `generate` drives them with billow's solver, `tools/phiflow_dataset.py` with
PhiFlow's.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..errors import InputError
from ..io.atomic import atomic_path
from ..io.pairs import (
    ARRAYS,
    FORMAT,
    LR_BOX_ARRAYS,
    LR_SIM_ARRAYS,
    MANIFEST,
    UNITS,
    npz_shapes,
)
from ..ops.downsample import blur_sigma, downsample, downsample_velocity
from ..progress import Progress
from .grid import MAX_RES, MIN_RES, Domain
from .output import check_writable, write_frame, write_json
from .pressure import PressureConfig
from .scenes import FAMILIES, Scene, random_scene
from .sequence import check_finite
from .solver import Solver, SolverConfig


@dataclass(frozen=True)
class DatasetConfig:
    sims: int = 20
    res: int = 128
    factor: int = 4
    frames: int = 120
    dim: int = 3
    seed: int = 0
    lr_sim: bool = False
    lr_box: bool = False
    vdb: bool = False
    fps: float = 24.0
    scenes: str = "random"  # scene family, see scenes.random_scene
    solver: SolverConfig = field(default_factory=SolverConfig)
    pressure: PressureConfig = field(default_factory=PressureConfig)

    def validate(self) -> None:
        if self.dim not in (2, 3):
            raise InputError(f"--dim {self.dim}: 2 or 3")
        if self.sims < 1 or self.frames < 1:
            raise InputError(f"--sims {self.sims} --frames {self.frames}: need at least one "
                             "of each")
        if self.factor < 1:
            raise InputError(f"--factor {self.factor}: must be at least 1")
        if self.res % self.factor:
            raise InputError(f"--factor {self.factor} does not divide --res {self.res}: "
                             f"try --res {self.res // self.factor * self.factor or self.factor}")
        lo = self.res // self.factor
        if lo < MIN_RES or self.res > MAX_RES:
            raise InputError(f"--res {self.res} --factor {self.factor}: the low-res grid would "
                             f"be {lo} cells; keep it at least {MIN_RES} and --res at most "
                             f"{MAX_RES}")
        if self.scenes not in FAMILIES:
            raise InputError(f"--scenes {self.scenes}: choose {', '.join(FAMILIES)}")
        if not self.fps > 0:
            raise InputError(f"--fps {self.fps}: must be positive")

    @property
    def hr_res(self) -> list[int]:
        return [self.res] * self.dim

    @property
    def lr_res(self) -> list[int]:
        return [self.res // self.factor] * self.dim


def sim_seed(base: int, index: int) -> int:
    """A distinct, reproducible seed per simulation."""
    return (int(base) * 1_000_003 + index * 7919 + 17) % 2 ** 31


def pairs_header(*, dim: int, factor: int, hr_res: list[int], frames: int, seed: int,
                 fps: float, scenes: str, settings: dict, created_by: str | None = None) -> dict:
    """The manifest of a "billow-pairs/1" folder without its sims: every writer of the format
    (`billow dataset`, `tools/phiflow_dataset.py`) builds its header here. `settings` holds
    "lr_sim" (bool), "lr_box" (only when true) and what made the data."""
    return {
        "format": FORMAT, "dim": dim, "factor": factor, "hr_res": list(hr_res),
        "lr_res": [n // factor for n in hr_res], "frames": frames, "dt": 1.0,
        "scenes": scenes, "blur_sigma": blur_sigma(factor), "units": UNITS, "up_axis": "y",
        "seed": seed, "sims": [], "created_by": created_by or f"billow {__version__}",
        "fps": fps, "settings": settings,
    }


def manifest_header(cfg: DatasetConfig) -> dict:
    return pairs_header(
        dim=cfg.dim, factor=cfg.factor, hr_res=cfg.hr_res, frames=cfg.frames, seed=cfg.seed,
        fps=cfg.fps, scenes=cfg.scenes,
        settings={"lr_sim": cfg.lr_sim, **({"lr_box": True} if cfg.lr_box else {}),
                  "solver": dataclasses.asdict(cfg.solver),
                  "pressure": dataclasses.asdict(cfg.pressure)})


_IDENTITY = ("format", "dim", "factor", "hr_res", "frames", "seed", "fps", "settings", "scenes")


def expected_shapes(header: dict) -> dict[str, tuple[int, ...]]:
    """Array name -> shape of every sim file of the data set `header` describes."""
    t, d = header["frames"], header["dim"]
    hr, lr = tuple(header["hr_res"]), tuple(header["lr_res"])
    want = {"hr_density": (t, *hr), "hr_velocity": (t, d, *hr), "lr_density": (t, *lr),
            "lr_velocity": (t, d, *lr)}
    settings = header["settings"]
    if settings.get("lr_sim"):
        want.update(lr_sim_density=want["lr_density"], lr_sim_velocity=want["lr_velocity"])
    if settings.get("lr_box"):
        want.update(lr_box_density=want["lr_density"], lr_box_velocity=want["lr_velocity"])
    return want


def file_complete(path: Path, want: dict[str, tuple[int, ...]]) -> bool:
    """Whether the sim file at `path` holds every array of `want` at its shape."""
    if not path.exists():
        return False
    try:
        shapes = npz_shapes(path)
    except (OSError, ValueError, zipfile.BadZipFile):
        return False
    return all(tuple(shapes.get(k, ())) == v for k, v in want.items())


def is_complete(path: Path, cfg: DatasetConfig) -> bool:
    return file_complete(path, expected_shapes(manifest_header(cfg)))


def _derive_low(density: torch.Tensor, velocity: torch.Tensor, factor: int):
    """High-res density (X, Y[, Z]) and velocity (D, X, ...) -> the low-res pair (Sec. 3.4.1)."""
    lr_d = downsample(density[None, None], factor)[0, 0]
    lr_v = downsample_velocity(velocity[None], factor)[0]
    return lr_d, lr_v


def _box_low(density: torch.Tensor, velocity: torch.Tensor, factor: int):
    """The f^D box average of each low-res cell's high-res cells (velocity in low-res
    cells per frame)."""
    pool = torch.nn.functional.avg_pool2d if density.dim() == 2 else \
        torch.nn.functional.avg_pool3d
    return (pool(density[None, None], factor)[0, 0],
            pool(velocity[None], factor)[0] / factor)


class FramePairs:
    """The arrays of one sim file, frame by frame: `add` takes a high-res frame (density
    (X, Y[, Z]), centred velocity (D, X, ...) in high-res cells per frame) and derives its
    low-res input (blur + sample, `_derive_low`; with `lr_box` also the box average); an
    independent low-res simulation's frame comes along as `lr_sim`. `arrays()`: the stacked
    float16 arrays, named as the format says (`billow.io.pairs`)."""

    def __init__(self, factor: int, *, lr_sim: bool = False, lr_box: bool = False):
        self.factor, self.lr_sim, self.lr_box = factor, lr_sim, lr_box
        self._out = {k: [] for k in ARRAYS + (LR_SIM_ARRAYS if lr_sim else ())
                     + (LR_BOX_ARRAYS if lr_box else ())}

    def add(self, density: torch.Tensor, velocity: torch.Tensor,
            lr_sim: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Append one frame; returns its float32 arrays (for VDB output)."""
        lr_d, lr_v = _derive_low(density, velocity, self.factor)
        frame = {"hr_density": density, "hr_velocity": velocity, "lr_density": lr_d,
                 "lr_velocity": lr_v}
        if self.lr_box:
            frame["lr_box_density"], frame["lr_box_velocity"] = _box_low(density, velocity,
                                                                         self.factor)
        if (lr_sim is not None) != self.lr_sim:
            raise ValueError("FramePairs: pass lr_sim exactly when made with lr_sim=True")
        if lr_sim is not None:
            frame["lr_sim_density"], frame["lr_sim_velocity"] = lr_sim
        for k, a in frame.items():
            self._out[k].append(a.numpy().astype(np.float16))
        return frame

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.stack(v) for k, v in self._out.items()}


def simulate_pair(cfg: DatasetConfig, scene: Scene, *, on_frame=None, vdb_dir: Path | None = None,
                  label: str = "sim") -> dict[str, np.ndarray]:
    """Simulate `scene` and return the arrays of one sim file (float16)."""
    hr = Solver(Domain(tuple(cfg.hr_res), scene.boundaries, cfg.fps), scene, cfg.solver,
                cfg.pressure)
    lr_domain = Domain(tuple(cfg.lr_res), scene.boundaries, cfg.fps)
    lo = Solver(lr_domain, scene, cfg.solver, cfg.pressure) if cfg.lr_sim else None
    pairs = FramePairs(cfg.factor, lr_sim=lo is not None, lr_box=cfg.lr_box)
    for t in range(cfg.frames):
        st = hr.advance_frame()
        check_finite(hr, f"{label}, high-res frame {t + 1}")
        low = None
        if lo is not None:
            lo.advance_frame()
            check_finite(lo, f"{label}, low-res simulation frame {t + 1}")
            low = (lo.density(), lo.velocity())
        frame = pairs.add(hr.density(), hr.velocity(), low)
        if vdb_dir is not None:
            for name, dom, dk, vk in (("hr", hr.domain, "hr_density", "hr_velocity"),
                                      ("lr", lr_domain, "lr_density", "lr_velocity"),
                                      ("lr_sim", lr_domain, "lr_sim_density", "lr_sim_velocity")):
                if dk in frame:
                    write_frame(vdb_dir / f"{name}.{t + 1:04d}.vdb", dom, frame[dk].numpy(),
                                frame[vk].numpy(), fps=cfg.fps)
        if on_frame is not None:
            on_frame(t + 1, st)
    return pairs.arrays()


def _check_existing(manifest_path: Path, header: dict) -> dict | None:
    if not manifest_path.exists():
        return None
    try:
        old = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{manifest_path}: cannot read ({e}); delete it to start over") from e
    old.setdefault("scenes", "random")  # manifests from before scene families
    diff = [k for k in _IDENTITY if old.get(k) != header.get(k)]
    if diff:
        raise InputError(f"{manifest_path.parent}: holds a data set made with other settings "
                         f"(differs in: {', '.join(diff)}); pick another --out")
    return old


def write_pairs(out_dir: str | Path, header: dict, entries: list[dict], simulate,
                progress: str = "auto", label: str = "dataset") -> dict:
    """The one writer of a "billow-pairs/1" folder: `header` (`pairs_header`), `entries`
    ({"id", "file", "seed", "scene", ...} per sim, in order). Sims whose files are complete
    are skipped (a folder made with other settings is refused); each other one is
    `simulate(entry, progress)` -> its arrays (`FramePairs.arrays`), which should call
    `progress.step(...)` once per frame; its file is written atomically and the manifest,
    listing the finished sims, after each."""
    out = Path(out_dir)
    check_writable(out)
    manifest_path = out / MANIFEST
    _check_existing(manifest_path, header)
    want = expected_shapes(header)
    todo = [e for e in entries if not file_complete(out / e["file"], want)]
    done = [e for e in entries if e not in todo]
    stats = {"written": 0, "skipped": len(done)}
    with Progress(len(todo) * header["frames"], label, progress) as p:
        if done:
            p.message(f"{out}: {len(done)} of {len(entries)} sims already complete; "
                      "skipping them")
        for entry in todo:
            arrays = simulate(entry, p)
            if set(arrays) != set(want):
                raise ValueError(f"{entry['id']}: arrays {sorted(arrays)}, the header wants "
                                 f"{sorted(want)}")
            with atomic_path(out / entry["file"]) as tmp, open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)
            done.append(entry)
            stats["written"] += 1
            write_json(manifest_path, {**header, "sims": sorted(done, key=lambda e: e["id"])})
    write_json(manifest_path, {**header, "sims": sorted(done, key=lambda e: e["id"])})
    return stats


def generate(cfg: DatasetConfig, out_dir: str | Path, progress: str = "auto") -> dict:
    """Write the data set into `out_dir`, skipping sims that are already complete."""
    cfg.validate()
    out = Path(out_dir)
    entries = []
    for i in range(cfg.sims):
        seed = sim_seed(cfg.seed, i)
        sid = f"sim_{i:04d}"
        entries.append({"id": sid, "file": f"{sid}.npz", "seed": seed,
                        "scene": random_scene(seed, cfg.dim, cfg.scenes).to_dict()})

    def simulate(entry, p):
        def on_frame(t, st):
            p.step(frame=t, sim=entry["id"], substeps=st["substeps"],
                   cg_iterations=st["cg_iterations"], seconds=round(st["seconds"], 3))

        return simulate_pair(cfg, Scene.from_dict(entry["scene"]), on_frame=on_frame,
                             vdb_dir=out / "vdb" / entry["id"] if cfg.vdb else None,
                             label=f"{out / entry['file']}")

    return write_pairs(out, manifest_header(cfg), entries, simulate, progress)
