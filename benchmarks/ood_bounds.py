"""How far the out-of-family targets of issue 17 can be met at all: oracles built from the true
high-res frame, measured with billow's own L1 and spectrum error against that frame.

    python benchmarks/ood_bounds.py --data /work/data/ood --sets phi_dense_128,ood_wisps_128

The input of an x4 upres holds the field up to its Nyquist frequency, 1/8 cycle per high-res
voxel; what lies above is not in it. Oracles:

- `oracle_low`: the reference itself with everything above the input's Nyquist removed (a box
  in frequency space, clamped at 0): the best a method that invents no detail can do, with the
  low band exactly right -- better than any real method, which has to infer even that band.
- `+texture_moved`: `oracle_low` plus the reference's own detail above the Nyquist, rolled by
  16 voxels along x: detail with exactly the right spectrum in the wrong place.
- `+half_texture_moved`: the same at half the amplitude (a quarter of the power).

Each row is L1 over tricubic's L1 and the spectrum error (mean |log10 P/P_ref| above the
input's Nyquist, `billow.metrics.spectrum_error`), means over `--frames`. The issue's targets
are L1 <= 0.8 and spectrum error <= 0.3 at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ood_look import dense  # the benchmark sets' one dense-block reader

FACTOR = 4
SHIFT = 16  # voxels: beyond any detail's correlation length at 128^3, inside the domain


def lowpass(x: np.ndarray, cut: float) -> np.ndarray:
    """`x` with every Fourier component above `cut` cycles per voxel along any axis removed."""
    keep = np.ones(x.shape, bool)
    for axis, n in enumerate(x.shape):
        k = np.abs(np.fft.fftfreq(n)).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
        keep &= k <= cut
    return np.real(np.fft.ifftn(np.fft.fftn(x) * keep)).astype(np.float32)


def oracles(ref: np.ndarray, tricubic: np.ndarray) -> dict[str, np.ndarray]:
    low = lowpass(ref, 0.5 / FACTOR)
    moved = np.roll(ref - low, SHIFT, axis=0)
    return {"tricubic": tricubic, "oracle_low": np.clip(low, 0, None),
            "oracle_low+half_texture_moved": np.clip(low + 0.5 * moved, 0, None),
            "oracle_low+texture_moved": np.clip(low + moved, 0, None)}


def measure(data: Path, name: str, frames: list[int]) -> dict[str, tuple[float, float]]:
    """{method: (L1 / tricubic's L1, spectrum error)}, means over `frames`."""
    from billow.baselines import upsample
    from billow.errors import InputError
    from billow.io import read_grid
    from billow.metrics import radial_spectrum, spectrum_error

    base = data / name / "vdb" / "sim_0000"
    if not base.is_dir():
        raise InputError(f"{data}: no set {name!r} (run ood_benchmark.py generate)")
    sums: dict[str, list[list[float]]] = {}
    for f in frames:
        lr_path, hr_path = base / f"lr.{f:04d}.vdb", base / f"hr.{f:04d}.vdb"
        if not (lr_path.is_file() and hr_path.is_file()):
            raise InputError(f"{base}: frame {f} missing (run ood_benchmark.py generate)")
        lr, hr = read_grid(lr_path, "density"), read_grid(hr_path, "density")
        lo_shape = tuple(int(v) for v in np.add(lr.offset, lr.shape))
        ref = dense(hr, tuple(FACTOR * v for v in lo_shape))
        tc = upsample(torch.from_numpy(dense(lr, lo_shape)), FACTOR, "tricubic").numpy()
        s_ref = radial_spectrum(ref)
        for method, out in oracles(ref, tc).items():
            sums.setdefault(method, []).append(
                [float(np.abs(out - ref).mean()),
                 spectrum_error(radial_spectrum(out), s_ref, FACTOR)])
    mean = {m: np.mean(v, axis=0) for m, v in sums.items()}
    t = mean["tricubic"][0]
    return {m: (float(v[0] / t), float(v[1])) for m, v in mean.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, type=Path,
                    help="folder written by `ood_benchmark.py generate`")
    ap.add_argument("--sets", required=True, help="comma-separated set names")
    ap.add_argument("--frames", default="5,10,15", help="frames to measure (default 5,10,15)")
    a = ap.parse_args(argv)
    from billow.errors import InputError

    try:
        frames = [int(f) for f in a.frames.split(",")]
    except ValueError:
        print(f"ood_bounds: --frames {a.frames!r}: comma-separated integers", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    print("| set | method | L1 / tricubic | spectrum error |\n|---|---|---|---|", flush=True)
    for name in a.sets.split(","):
        try:
            rows = measure(a.data, name, frames)
        except InputError as e:
            print(f"ood_bounds: {e}", file=sys.stderr)
            return 2
        for method, (l1, se) in rows.items():
            print(f"| {name} | {method} | {l1:.3f} | {se:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
