"""The settings of a simulation run from a preset scene and the user's overrides, checked up
front (one line, exit 2, before anything is simulated): what `billow sim` and `billow dataset`
resolve their flags into."""

from __future__ import annotations

from ..errors import InputError
from .pressure import PressureConfig
from .solver import SolverConfig


def check_configs(solver: SolverConfig, pressure: PressureConfig) -> None:
    if not solver.cfl > 0:
        raise InputError(f"--cfl {solver.cfl}: must be positive")
    if solver.max_substeps < 1:
        raise InputError(f"--max-substeps {solver.max_substeps}: must be at least 1")
    if not 0 < pressure.tolerance < 1:
        raise InputError(f"--tolerance {pressure.tolerance}: must be in (0, 1)")
    if pressure.max_iterations < 1 or pressure.mic_blocks < 1:
        raise InputError("--max-iterations and --mic-blocks must be at least 1")


def preset_settings(preset: str, res: int, dim: int = 3, seed: int = 0, fps: float = 24.0, *,
                    buoyancy: float | None = None, vorticity: float | None = None,
                    boundaries: str | None = None, obstacle_mask: str | None = None,
                    solver: SolverConfig = SolverConfig(),
                    pressure: PressureConfig = PressureConfig()):
    """`SimSettings` of preset scene `preset` with the given overrides (None: the preset's):
    upward buoyancy (world/s^2 per unit density), vorticity confinement strength, boundaries
    (6 words wall|open for x- x+ y- y+ z- z+)."""
    from .grid import parse_boundaries
    from .scenes import preset as preset_scene
    from .sequence import SimSettings

    scene = preset_scene(preset, dim, seed)
    if buoyancy is not None:
        scene.buoyancy = (0.0, float(buoyancy), 0.0)
    if vorticity is not None:
        if vorticity < 0:
            raise InputError(f"--vorticity {vorticity}: must not be negative")
        scene.vorticity = float(vorticity)
    if boundaries is not None:
        parse_boundaries(boundaries, dim)  # validates
        scene.boundaries = " ".join(boundaries.replace(",", " ").split())
    if not fps > 0:
        raise InputError(f"--fps {fps}: must be positive")
    check_configs(solver, pressure)
    return SimSettings(scene, res, dim, seed, fps, solver, pressure, obstacle_mask)
