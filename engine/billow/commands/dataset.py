"""`billow dataset`: paired high-/low-res smoke for training (randomised scenes, resumable)."""

from __future__ import annotations

import json

from ..config import add_arguments, from_args
from .common import add_progress_argument


def add_parser(sub) -> None:
    from ..sim.pressure import PressureConfig
    from ..sim.scenes import FAMILIES
    from ..sim.solver import SolverConfig

    p = sub.add_parser(
        "dataset", help="generate paired high-/low-res smoke simulations for training",
        description="Simulate randomised smoke scenes (noise density inflows, 1-5 velocity "
        "sources, random buoyancy including none) at --res and derive the low-res input as the "
        "reference data does (Gaussian blur, sigma = factor/(2 sqrt(pi)), then linear sampling "
        "at low-res cell centres). Writes DIR/manifest.json and one compressed DIR/sim_NNNN.npz "
        "per simulation (float16; velocity in cells of its own grid per frame). Re-running "
        "skips complete simulations; more --sims extend the set.")
    p.add_argument("--out", required=True, help="output folder")
    add_size_arguments(p, sims=20, res=128, frames=120)
    p.add_argument("--dim", type=int, choices=(2, 3), default=3, help="2D or 3D (default: 3)")
    p.add_argument("--scenes", choices=FAMILIES, default="random",
                   help="scene family: random inflows and velocity sources (the training "
                   "default), or the same with solid obstacles, or with strong sideways jets "
                   "(for fine-tuning experiments), or `mixed`: all of these plus broad scenes "
                   "spanning thin to saturated density, near-still to fast motion, large "
                   "fills, obstacles (the training set of the shipped 3D model) "
                   "(default: random)")
    p.add_argument("--fps", type=float, default=24.0,
                   help="frames per second of the scenes' timing (default: 24)")
    p.add_argument("--lr-sim", action="store_true",
                   help="also simulate each scene independently at low resolution "
                   "(lr_sim_density, lr_sim_velocity)")
    p.add_argument("--lr-box", action="store_true",
                   help="also store a second low-res input derived by the plain box average "
                   "of each cell's high-res cells (lr_box_density, lr_box_velocity); training "
                   "then draws either derivation")
    p.add_argument("--vdb", action="store_true",
                   help="also write VDB sequences under DIR/vdb/sim_NNNN/ (world/s velocity)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the manifest header and the first scene, and exit")
    add_arguments(p, SolverConfig, title="solver")
    add_arguments(p, PressureConfig, title="pressure solve")
    add_progress_argument(p)
    p.set_defaults(run=run)


def add_size_arguments(p, *, sims: int, res: int, frames: int) -> None:
    """--sims, --res, --factor, --frames and --seed of a paired data set: shared by `billow
    dataset` and `tools/phiflow_dataset.py`, which write the same format."""
    p.add_argument("--sims", type=int, default=sims,
                   help=f"number of simulations (default: {sims})")
    p.add_argument("--res", type=int, default=res,
                   help=f"high-res cells per axis (default: {res})")
    p.add_argument("--factor", type=int, default=4,
                   help="down-sampling factor; must divide --res (default: 4)")
    p.add_argument("--frames", type=int, default=frames,
                   help=f"frames per simulation (default: {frames})")
    p.add_argument("--seed", type=int, default=0, help="base seed of the scenes (default: 0)")


def run(args) -> int:
    from ..sim.dataset import DatasetConfig, generate, manifest_header, sim_seed
    from ..sim.pressure import PressureConfig
    from ..sim.scenes import random_scene
    from ..sim.settings import check_configs
    from ..sim.solver import SolverConfig

    solver, pressure = from_args(SolverConfig, args), from_args(PressureConfig, args)
    check_configs(solver, pressure)
    cfg = DatasetConfig(sims=args.sims, res=args.res, factor=args.factor, frames=args.frames,
                        dim=args.dim, seed=args.seed, lr_sim=args.lr_sim, lr_box=args.lr_box, vdb=args.vdb,
                        fps=args.fps, scenes=args.scenes, solver=solver, pressure=pressure)
    cfg.validate()
    if args.dry_run:
        first = random_scene(sim_seed(cfg.seed, 0), cfg.dim, cfg.scenes).to_dict()
        print(json.dumps({**manifest_header(cfg), "sims": f"{cfg.sims} planned",
                          "first_scene": first, "out": args.out}, indent=1))
        return 0
    generate(cfg, args.out, progress=args.progress)
    return 0
