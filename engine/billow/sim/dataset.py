"""Paired training data (dissertation Sec. 3.4.1, App. A.2): randomised scenes simulated at high
resolution, with the low-res input derived exactly as the reference data (Gaussian blur with
sigma = factor / (2 sqrt(pi)) high-res cells, then linear sampling at the low-res cell centres:
`billow.ops.downsample`), optionally also simulated independently at low resolution.

The data set's format ("billow-pairs/1": manifest.json and one sim_NNNN.npz per simulation) is
owned by `billow.io.pairs`, which also reads it. A sim is written (atomically) when all its
frames are done, and the manifest lists only finished sims, so an interrupted run resumes by
skipping the sims whose files are complete.
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


def manifest_header(cfg: DatasetConfig) -> dict:
    return {
        "format": FORMAT, "dim": cfg.dim, "factor": cfg.factor, "hr_res": cfg.hr_res,
        "lr_res": cfg.lr_res, "frames": cfg.frames, "dt": 1.0, "scenes": cfg.scenes,
        "blur_sigma": blur_sigma(cfg.factor), "units": UNITS, "up_axis": "y", "seed": cfg.seed,
        "sims": [], "created_by": f"billow {__version__}", "fps": cfg.fps,
        "settings": {"lr_sim": cfg.lr_sim, **({"lr_box": True} if cfg.lr_box else {}),
                     "solver": dataclasses.asdict(cfg.solver),
                     "pressure": dataclasses.asdict(cfg.pressure)},
    }


_IDENTITY = ("format", "dim", "factor", "hr_res", "frames", "seed", "fps", "settings", "scenes")


def is_complete(path: Path, cfg: DatasetConfig) -> bool:
    if not path.exists():
        return False
    try:
        shapes = npz_shapes(path)
    except (OSError, ValueError, zipfile.BadZipFile):
        return False
    want = {"hr_density": (cfg.frames, *cfg.hr_res),
            "hr_velocity": (cfg.frames, cfg.dim, *cfg.hr_res),
            "lr_density": (cfg.frames, *cfg.lr_res),
            "lr_velocity": (cfg.frames, cfg.dim, *cfg.lr_res)}
    if cfg.lr_sim:
        want.update(lr_sim_density=want["lr_density"], lr_sim_velocity=want["lr_velocity"])
    if cfg.lr_box:
        want.update(lr_box_density=want["lr_density"], lr_box_velocity=want["lr_velocity"])
    return all(tuple(shapes.get(k, ())) == v for k, v in want.items())


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


def simulate_pair(cfg: DatasetConfig, scene: Scene, *, on_frame=None, vdb_dir: Path | None = None,
                  label: str = "sim") -> dict[str, np.ndarray]:
    """Simulate `scene` and return the arrays of one sim file (float16)."""
    hr = Solver(Domain(tuple(cfg.hr_res), scene.boundaries, cfg.fps), scene, cfg.solver,
                cfg.pressure)
    lr_domain = Domain(tuple(cfg.lr_res), scene.boundaries, cfg.fps)
    lo = Solver(lr_domain, scene, cfg.solver, cfg.pressure) if cfg.lr_sim else None
    out = {k: [] for k in ARRAYS + (LR_SIM_ARRAYS if lo else ())
           + (LR_BOX_ARRAYS if cfg.lr_box else ())}
    for t in range(cfg.frames):
        st = hr.advance_frame()
        check_finite(hr, f"{label}, high-res frame {t + 1}")
        d, v = hr.density(), hr.velocity()
        lr_d, lr_v = _derive_low(d, v, cfg.factor)
        frame = {"hr_density": d, "hr_velocity": v, "lr_density": lr_d, "lr_velocity": lr_v}
        if cfg.lr_box:
            frame["lr_box_density"], frame["lr_box_velocity"] = _box_low(d, v, cfg.factor)
        if lo is not None:
            lo.advance_frame()
            check_finite(lo, f"{label}, low-res simulation frame {t + 1}")
            frame.update(lr_sim_density=lo.density(), lr_sim_velocity=lo.velocity())
        for k, a in frame.items():
            out[k].append(a.numpy().astype(np.float16))
        if vdb_dir is not None:
            for name, dom, dk, vk in (("hr", hr.domain, "hr_density", "hr_velocity"),
                                      ("lr", lr_domain, "lr_density", "lr_velocity"),
                                      ("lr_sim", lr_domain, "lr_sim_density", "lr_sim_velocity")):
                if dk in frame:
                    write_frame(vdb_dir / f"{name}.{t + 1:04d}.vdb", dom, frame[dk].numpy(),
                                frame[vk].numpy(), fps=cfg.fps)
        if on_frame is not None:
            on_frame(t + 1, st)
    return {k: np.stack(v) for k, v in out.items()}


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


def generate(cfg: DatasetConfig, out_dir: str | Path, progress: str = "auto") -> dict:
    """Write the data set into `out_dir`, skipping sims that are already complete."""
    cfg.validate()
    out = Path(out_dir)
    check_writable(out)
    header = manifest_header(cfg)
    manifest_path = out / MANIFEST
    _check_existing(manifest_path, header)
    entries, todo = [], []
    for i in range(cfg.sims):
        seed = sim_seed(cfg.seed, i)
        sid = f"sim_{i:04d}"
        entry = {"id": sid, "file": f"{sid}.npz", "seed": seed,
                 "scene": random_scene(seed, cfg.dim, cfg.scenes).to_dict()}
        entries.append(entry)
        if not is_complete(out / entry["file"], cfg):
            todo.append(entry)
    done = [e for e in entries if e not in todo]
    stats = {"written": 0, "skipped": len(done)}
    with Progress(len(todo) * cfg.frames, "dataset", progress) as p:
        if done:
            p.message(f"{out}: {len(done)} of {cfg.sims} sims already complete; skipping them")
        for entry in todo:
            scene = Scene.from_dict(entry["scene"])
            vdb_dir = out / "vdb" / entry["id"] if cfg.vdb else None

            def on_frame(t, st, sid=entry["id"]):
                p.step(frame=t, sim=sid, substeps=st["substeps"],
                       cg_iterations=st["cg_iterations"], seconds=round(st["seconds"], 3))

            arrays = simulate_pair(cfg, scene, on_frame=on_frame, vdb_dir=vdb_dir,
                                   label=f"{out / entry['file']}")
            with atomic_path(out / entry["file"]) as tmp, open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)
            done.append(entry)
            stats["written"] += 1
            write_json(manifest_path, {**header, "sims": sorted(done, key=lambda e: e["id"])})
    write_json(manifest_path, {**header, "sims": sorted(done, key=lambda e: e["id"])})
    return stats
