"""`billow demo`: the whole job on built-in defaults. Simulate a buoyant plume with the
built-in solver (48^3, 60 frames), upres it with the shipped model, write both VDB sequences
and a picture with the same renderer and material for every panel: the input, trilinear,
tricubic and billow side by side (an animated GIF too), and say where everything is."""

from __future__ import annotations

from .common import add_progress_argument


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="simulate, upres and show a smoke plume (a first run)",
                       description=__doc__)
    p.add_argument("--out", default="billow_demo", help="output folder (default: billow_demo)")
    p.add_argument("--res", type=int, default=48, help="simulation cells per axis (default: 48)")
    p.add_argument("--frames", type=int, default=60, help="frames (default: 60)")
    p.add_argument("--model", default=None, help="model (default: the shipped 3D x4)")
    p.add_argument("--velocity-scale", type=float, default=1.0,
                   help="detail control of the upres (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="inflow noise seed (default: 0)")
    add_progress_argument(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..infer.demo import run_demo

    r = run_demo(args.out, res=args.res, frames=args.frames, model=args.model,
                 velocity_scale=args.velocity_scale, seed=args.seed, progress=args.progress)
    n, s, t = args.res, r["scale"], r["seconds"]
    print(f"billow demo: {args.frames} frames of a {n}^3 plume, upres'd x{s} with {r['card']}")
    print(f"  simulation  {r['sim']}/smoke.####.vdb   ({t['simulate']:.1f} s)")
    print(f"  upres       {r['upres']}/smoke.####.vdb ({t['upres']:.1f} s)")
    print(f"  picture     {r['png']} (input, trilinear, tricubic, billow x{s})"
          + (f", animation {r['gif']}" if r["gif"] else "")
          + f" ({t['pictures']:.1f} s)")
    return 0
