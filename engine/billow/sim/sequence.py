"""A resumable simulation written as a VDB sequence (`billow sim`).

Beside `sim/smoke.####.vdb` the run keeps `sim/smoke.sim.json` (the resolved settings, the
run's identity) and `sim/smoke.state.npz` (the solver state after the last written frame). A
re-run with the same settings skips the frames that exist and continues from the checkpoint
(or, without one, re-simulates deterministically and writes only the missing frames); more
`--frames` extend a finished run. Different settings on an existing output are refused unless
`overwrite`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import InputError, shorten
from ..io.atomic import remove_stale_temporaries
from ..io.sequence import FramePattern
from ..io.vdb import vdb_complete
from ..progress import Progress
from .grid import Domain
from .output import (
    check_writable,
    load_checkpoint,
    read_json,
    save_checkpoint,
    write_frame,
    write_json,
)
from .pressure import PressureConfig
from .scenes import Scene
from .solver import Solver, SolverConfig


@dataclass(frozen=True)
class SimSettings:
    """Everything that determines the frames of a run (not how many are written)."""

    scene: Scene
    res: int
    dim: int = 3
    seed: int = 0
    fps: float = 24.0
    solver: SolverConfig = field(default_factory=SolverConfig)
    pressure: PressureConfig = field(default_factory=PressureConfig)
    obstacle_mask: str | None = None  # .npy path of a bool [x, y(, z)] voxel mask

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["scene"] = self.scene.to_dict()
        return d

    def obstacle_voxels(self) -> np.ndarray | None:
        if not self.obstacle_mask:
            return None
        try:
            voxels = np.load(self.obstacle_mask)
        except (OSError, ValueError) as e:
            raise InputError(f"{self.obstacle_mask}: cannot read the obstacle mask "
                             f"({shorten(e)})") from e
        if voxels.ndim != self.dim:
            raise InputError(f"{self.obstacle_mask}: obstacle mask has {voxels.ndim} axes, the "
                             f"{self.dim}D grid needs {self.dim}")
        return voxels

    def key(self) -> str:
        """The run's identity: its settings and the obstacle voxels' content."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        voxels = self.obstacle_voxels()
        if voxels is not None:
            text += hashlib.sha1(np.ascontiguousarray(voxels).tobytes()).hexdigest()
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def domain(self) -> Domain:
        return Domain((self.res,) * self.dim, self.scene.boundaries, self.fps)

    def make_solver(self) -> Solver:
        return Solver(self.domain(), self.scene, self.solver, self.pressure,
                      self.obstacle_voxels())


def run_paths(pattern: FramePattern) -> tuple[Path, Path]:
    base = pattern.prefix.rstrip("._-") or pattern.prefix + "sim"
    return Path(base + ".sim.json"), Path(base + ".state.npz")


def _differences(old: dict, new: dict) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


class NonFiniteError(InputError):
    """The simulation produced NaN or inf."""


def check_finite(solver: Solver, where: str) -> None:
    if not solver.state.is_finite():
        raise NonFiniteError(
            f"{where}: the simulation became non-finite (NaN or inf); the frames before it "
            "are kept. Lower the forces or velocities, or allow more --max-substeps")


def simulate_sequence(settings: SimSettings, out: str, frames: int, *, start: int = 1,
                      overwrite: bool = False, half: bool = False,
                      progress: str = "auto") -> dict:
    """Simulate frames start .. start+frames-1 into the VDB pattern `out`; resumable."""
    pattern = FramePattern.parse(out)
    if not pattern.is_sequence:
        raise InputError(f"{out}: the output needs a frame token, e.g. sim/smoke.####.vdb")
    if frames < 1:
        raise InputError(f"--frames {frames}: simulate at least one frame")
    sidecar, checkpoint = run_paths(pattern)
    check_writable(sidecar.parent)
    key = settings.key()
    meta = {"billow": __version__, "key": key, "settings": settings.to_dict(),
            "frames": {"start": start, "count": frames},
            "units": {"length": "world units; the domain's largest axis is 1",
                      "velocity": "world/s (vel grid)", "up_axis": "y"}}
    old = read_json(sidecar)
    wanted = list(range(start, start + frames))
    if old is not None and not overwrite and (
            old.get("key") != key or old.get("frames", {}).get("start") != start):
        diff = _differences(old.get("settings", {}), meta["settings"]) or ["start frame"]
        raise InputError(f"{out}: holds a different simulation (differs in: "
                         f"{', '.join(diff)}); pick another --out, or pass --overwrite")
    remove_stale_temporaries(sidecar.parent)
    done, damaged = 0, None
    if not overwrite:
        for f in wanted:
            if not pattern.path(f).exists():
                break
            problem = vdb_complete(pattern.path(f))
            if problem is not None:  # a full disk or a kill: simulate it (and after) again
                damaged = f"{pattern.path(f)}: {problem}; simulating from frame {f} again"
                break
            done += 1
    stats = {"written": 0, "skipped": done, "resumed_from": None}
    if done == frames:
        with Progress(0, "sim", progress) as p:
            p.message(f"{pattern}: all {frames} frames exist; nothing to do")
        write_json(sidecar, meta)
        return stats
    solver = settings.make_solver()
    resumed = None if (overwrite or done == 0) else load_checkpoint(checkpoint, key)
    if resumed is not None and resumed[0].frame == done:
        solver.set_state(*resumed)
        stats["resumed_from"] = start + done - 1
    write_json(sidecar, meta)
    file_meta = {"billow_sim_key": key, "billow_sim_scene": settings.scene.name,
                 "billow_sim_seed": int(settings.seed)}
    with Progress(frames - done, "sim", progress) as p:
        if damaged:
            p.warn(damaged)
        if stats["resumed_from"] is not None:
            p.message(f"{pattern}: resuming after frame {stats['resumed_from']}")
        elif done:
            p.message(f"{pattern}: {done} frames exist but no matching checkpoint; "
                      "re-simulating them without rewriting")
        while solver.state.frame < frames:
            frame = start + solver.state.frame
            st = solver.advance_frame()
            check_finite(solver, f"{pattern.path(frame)} (frame {frame})")
            if solver.state.frame <= done:
                continue
            path = write_frame(pattern.path(frame), solver.domain,
                               solver.density().numpy(), solver.velocity().numpy(),
                               fps=settings.fps, half=half,
                               metadata={**file_meta, "billow_frame": frame})
            save_checkpoint(checkpoint, solver.state, solver.time, key)
            stats["written"] += 1
            p.step(frame=frame, file=str(path), substeps=st["substeps"],
                   cg_iterations=st["cg_iterations"], seconds=round(st["seconds"], 3))
    return stats
