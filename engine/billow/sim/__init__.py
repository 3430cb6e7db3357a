"""Smoke solver and paired training data (issue 3): a 2D/3D MAC-grid solver with MacCormack
advection, buoyancy, vorticity confinement, sources, obstacles and a preconditioned CG pressure
solve (MIC(0), multigrid or Jacobi) (native C++/OpenMP kernels with pure-torch references), the `billow sim`
presets, and the `billow dataset` generator of high-/low-res pairs (format: `billow.io.pairs`).

The solver's kernels and torch share one OpenMP runtime. With OpenMP's default (active) wait
policy, idle worker threads spin between parallel regions; on a machine whose cores are shared
(a farm node, a DCC beside the solve, other jobs) that makes a step several times slower, so
`billow/__init__.py` defaults OMP_WAIT_POLICY to PASSIVE before anything loads torch (an
explicit setting wins; set it in the environment when torch is imported before billow).
"""

from .dataset import DatasetConfig, generate
from .grid import Cells, Domain, State, centred_velocity, divergence
from .pressure import PressureConfig, Projection
from .scenes import PRESETS, Scene, preset, random_scene
from .solver import Solver, SolverConfig
from .sources import DensitySource, Noise, Shape, VelocitySource

__all__ = [
    "PRESETS",
    "Cells",
    "DatasetConfig",
    "DensitySource",
    "Domain",
    "Noise",
    "PressureConfig",
    "Projection",
    "Scene",
    "Shape",
    "Solver",
    "SolverConfig",
    "State",
    "VelocitySource",
    "centred_velocity",
    "divergence",
    "generate",
    "preset",
    "random_scene",
]
