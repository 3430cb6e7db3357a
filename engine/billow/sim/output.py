"""Writing simulated frames: VDB smoke frames (density + vel in world units per second), the
resumable run's sidecar (resolved settings) and its checkpoint (solver state after the last
written frame). All writes are atomic.

World frame of a simulation: the domain spans [0, 1] along its largest axis, so the voxel size
is 1/res world units; voxel (i, j, k) is centred at ((i, j, k) + 0.5) / res; y is up. A 2D run
is written as a single z slice (Z = 1, z velocity 0).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ..errors import InputError, OutputError
from ..io.atomic import atomic_path
from .grid import Domain, State


def world_matrix(domain: Domain) -> np.ndarray:
    """Index-to-world 4x4 (row-vector convention): voxel size 1/res, centres at (i + .5) h."""
    h = domain.voxel_size
    m = np.diag([h, h, h, 1.0])
    m[3, :3] = 0.5 * h
    return m


def smoke_frame(domain: Domain, density: np.ndarray, velocity: np.ndarray, path: Path,
                fps: float):
    """A `SmokeFrame` from solver arrays: density (X, Y[, Z]), centred velocity
    (D, X, Y[, Z]) in cells per frame."""
    from ..io.frame import SmokeFrame
    from ..io.volume import Volume

    if domain.dim == 2:
        density = density[..., None]
        velocity = np.concatenate([velocity, np.zeros_like(velocity[:1])])[..., None]
    m = world_matrix(domain)
    dens = Volume("density", np.ascontiguousarray(density, np.float32), (0, 0, 0), m,
                  grid_class="fog volume")
    vel = Volume("vel", np.ascontiguousarray(np.moveaxis(velocity, 0, -1), np.float32),
                 (0, 0, 0), m, vector_type="contravariant relative")
    return SmokeFrame(Path(path), dens, vel, source={"fps": fps})


def write_frame(path: Path, domain: Domain, density, velocity, *, fps: float,
                metadata: dict | None = None, half: bool = False) -> Path:
    from ..io.frame import write_smoke_frame

    frame = smoke_frame(domain, np.asarray(density), np.asarray(velocity), path, fps)
    return write_smoke_frame(path, frame, style="houdini", half=half, metadata=metadata)


def write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"

    def verify(tmp: Path) -> None:
        if tmp.read_text() != text:
            raise OutputError(f"{path}: short write (disk full?); the previous file is kept")

    with atomic_path(path, verify) as tmp:
        tmp.write_text(text)


def read_json(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read ({e})") from e


def save_checkpoint(path: Path, state: State, time_frames: float, key: str) -> None:
    def verify(tmp: Path) -> None:
        try:
            with np.load(tmp) as z:
                ok = str(z["key"]) == key and int(z["frame"]) == state.frame
                for name in z.files:
                    z[name]  # reads (and CRC-checks) every array
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise OutputError(f"{path}: short write of the solver checkpoint (disk full?): "
                              f"{e}") from e
        if not ok:
            raise OutputError(f"{path}: the checkpoint does not read back as written")

    with atomic_path(path, verify) as tmp:
        # built in memory, so a full disk fails in one plain write (not inside zipfile)
        buffer = io.BytesIO()
        np.savez(buffer, frame=state.frame, time=time_frames, key=key, **state.arrays())
        try:
            with open(tmp, "wb") as f:
                f.write(buffer.getbuffer())
        except OSError as e:
            raise OutputError(f"{path}: cannot write the solver checkpoint (disk full or a "
                              "file size limit reached?)") from e


def load_checkpoint(path: Path, key: str) -> tuple[State, float] | None:
    """The saved state if it exists and belongs to the run `key`; None otherwise."""
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            if str(z["key"]) != key:
                return None
            return State.from_arrays(z, int(z["frame"])), float(z["time"])
    except (OSError, ValueError, KeyError):
        return None  # a damaged checkpoint only costs a re-simulation


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{folder}: cannot create output folder ({e.strerror})") from e
    probe = folder / ".billow-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise OutputError(f"{folder}: cannot write ({e.strerror})") from e
