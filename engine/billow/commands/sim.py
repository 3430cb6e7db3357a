"""`billow sim`: simulate a preset smoke scene into a VDB sequence (density + vel, world/s)."""

from __future__ import annotations

import json

from ..config import add_arguments, from_args
from .common import add_progress_argument


def add_parser(sub) -> None:
    from ..sim.pressure import PressureConfig
    from ..sim.scenes import PRESETS
    from ..sim.solver import SolverConfig

    p = sub.add_parser(
        "sim", help="simulate smoke (plume, jet, obstacle) into a VDB sequence",
        description="Run billow's MAC-grid smoke solver on a preset scene and write one VDB "
        "per frame: `density` and `vel` (cell-centred, world units per second, y up; the "
        "domain is 1 world unit along its largest axis, voxel size 1/res). 2D runs are "
        "written as one z slice. Re-running the same command resumes: existing frames are "
        "skipped and the solver continues from its checkpoint (<out>.state.npz).")
    p.add_argument("--preset", choices=PRESETS, default="plume", help="scene (default: plume)")
    p.add_argument("--res", type=int, default=64, help="cells along each axis (default: 64)")
    p.add_argument("--dim", type=int, choices=(2, 3), default=3, help="2D or 3D (default: 3)")
    p.add_argument("--frames", type=int, default=100, help="frames to simulate (default: 100)")
    p.add_argument("--start", type=int, default=1, help="number of the first frame (default: 1)")
    p.add_argument("--out", required=True, help="output pattern, e.g. sim/smoke.####.vdb")
    p.add_argument("--seed", type=int, default=0, help="noise seed of the inflow (default: 0)")
    p.add_argument("--fps", type=float, default=24.0,
                   help="frames per second: world/s velocities and scene timing (default: 24)")
    p.add_argument("--buoyancy", type=float, default=None,
                   help="upward buoyancy, world/s^2 per unit density (default: the preset's)")
    p.add_argument("--vorticity", type=float, default=None,
                   help="vorticity confinement strength (default: the preset's)")
    p.add_argument("--boundaries", default=None,
                   help="6 words wall|open for x- x+ y- y+ z- z+ (default: the preset's, "
                   "open top and bottom)")
    p.add_argument("--obstacle-mask", default=None, metavar="NPY",
                   help="static obstacle voxels: a bool .npy array [x, y(, z)] of the grid size")
    p.add_argument("--half", action="store_true", help="store floats as 16-bit half")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output instead of resuming it")
    p.add_argument("--dry-run", action="store_true", help="print the resolved settings and exit")
    add_arguments(p, SolverConfig, title="solver")
    add_arguments(p, PressureConfig, title="pressure solve")
    add_progress_argument(p)
    p.set_defaults(run=run)


def settings_from_args(args):
    from ..sim.pressure import PressureConfig
    from ..sim.settings import preset_settings
    from ..sim.solver import SolverConfig

    return preset_settings(args.preset, args.res, args.dim, args.seed, args.fps,
                           buoyancy=args.buoyancy, vorticity=args.vorticity,
                           boundaries=args.boundaries, obstacle_mask=args.obstacle_mask,
                           solver=from_args(SolverConfig, args),
                           pressure=from_args(PressureConfig, args))


def run(args) -> int:
    from ..sim.sequence import simulate_sequence

    settings = settings_from_args(args)
    settings.domain()  # validates the resolution
    if args.dry_run:
        print(json.dumps({**settings.to_dict(), "frames": args.frames, "start": args.start,
                          "out": args.out}, indent=1))
        return 0
    simulate_sequence(settings, args.out, args.frames, start=args.start,
                      overwrite=args.overwrite, half=args.half, progress=args.progress)
    return 0
