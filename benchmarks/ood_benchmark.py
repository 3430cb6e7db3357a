"""Out-of-family benchmark (issue 17): paired low-/high-res smoke that billow's training never
sees, and every method side by side on it.

    python benchmarks/ood_benchmark.py generate --out /work/data/ood
    python benchmarks/ood_benchmark.py eval --data /work/data/ood \
        --model old=engine/billow/models/smoke3d_x4.onnx --out /work/data/ood_eval

`generate` simulates at high resolution and derives the low-res input (see benchmarks/
README_ood.md for the sets): PhiFlow (a third-party solver from PyPI, run in its own Python,
`--phiflow-python`) and scene families billow never trains on (`ood_scenes.py`, billow's solver,
seeds >= 5000). Each set is `OUT/<set>/vdb/sim_0000/{hr,lr,lr_gauss}.####.vdb` (Houdini style:
`density` and `vel` in world units per second, y up, the layout of `billow dataset --vdb`, so
`benchmarks/heldout_vdb.py --set OUT/<set>:1-N` works too) plus `OUT/<set>/set.json`. `lr` is
the default evaluation input, a plain 4x4x4 box average of the high-res frame (velocity: box
average / 4); `lr_gauss` is billow's own training derivation (Gaussian blur, sigma =
4 / (2 sqrt(pi)) high-res cells, then linear sampling), kept as an extra set. Sets finish
atomically (set.json last) and a re-run skips finished sets. `--quick`: tiny sizes, 3 frames.

`eval` runs every method through the product path (`billow baseline` for tricubic, tricubic-bp
and wavelet turbulence, `billow upres --model` for each `--model NAME=PATH`, then `billow eval`
against the high-res reference) and adds, on a few frames per set (`--metric-frames`): the
lattice measure at the 4-voxel period (method and reference), the velocity-scale response
(high-band energy at `--velocity-scale` 0 and 2 over 1, models only), amplitude equivariance
(upres of 0.1x and 10x the input density, scaled back) and the rendered brightness against the
input's (one material, `billow.metrics.artefacts.BRIGHTNESS_SIGMA`). It writes OUT/table.md,
OUT/results.json, OUT/frames.png (a dense and a wispy frame) and OUT/<set>/frames.png; finished
sets are reused when re-run with the same methods (`--fresh` to redo).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ood_report import (nearest, overview, picture, picture_planes, set_picture,  # noqa: E402
                        table, table_doc)
FORMAT = "billow-ood-set/1"
FACTOR = 4
FPS = 24.0
# PhiFlow's own environment (see README_ood.md); BILLOW_PHIFLOW_PYTHON overrides it
DEFAULT_PHIFLOW_PYTHON = os.environ.get("BILLOW_PHIFLOW_PYTHON", "/work/phiflow-venv/bin/python")
DERIVATIONS = {
    "lr": "box: mean of each 4x4x4 block of high-res cells (velocity: block mean / 4)",
    "lr_gauss": "gauss: billow's training derivation (billow.ops.downsample): Gaussian blur "
                "sigma = 4 / (2 sqrt(pi)) high-res cells, replicate borders, then linear "
                "sampling at the low-res cell centres (velocity the same, / 4)",
}


@dataclass(frozen=True)
class SetSpec:
    name: str
    source: str  # "phiflow" or "billow"
    scene: str  # PhiFlow scene or ood_scenes family
    seed: int
    hr_res: int
    frames: int
    tags: tuple[str, ...]


def set_specs(quick: bool, res: int | None = None, res_large: int | None = None,
              frames: int | None = None, frames_large: int | None = None) -> list[SetSpec]:
    """The benchmark's sets. Full: 32^3 -> 128^3 (20 frames) and 64^3 -> 256^3 (12 frames, to
    fit one CPU core's budget; the thin-wisps family's fast jets need 3 substeps per frame, so
    at 256^3 the second set is the obstacle family); quick: 16^3 -> 64^3 and 32^3 -> 128^3,
    3 frames."""
    r1, r2, f1, f2 = (64, 128, 3, 3) if quick else (128, 256, 20, 12)
    r1, r2, f1, f2 = res or r1, res_large or r2, frames or f1, frames_large or f2
    if r1 % FACTOR or r2 % FACTOR:
        raise SystemExit(f"--res {r1} / --res-large {r2}: must be multiples of {FACTOR}")
    return [
        SetSpec(f"phi_dense_{r1}", "phiflow", "phi_dense", 5100, r1, f1, ("dense", "slow")),
        SetSpec(f"phi_wisps_{r1}", "phiflow", "phi_wisps", 5100, r1, f1,
                ("wispy", "fast", "obstacles")),
        SetSpec(f"ood_dense_{r1}", "billow", "dense_slow", 5000, r1, f1, ("dense", "slow")),
        SetSpec(f"ood_wisps_{r1}", "billow", "thin_wisps", 5001, r1, f1, ("wispy", "fast")),
        SetSpec(f"ood_obstacle_{r1}", "billow", "obstacle_ood", 5002, r1, f1,
                ("obstacles", "dense")),
        SetSpec(f"ood_dense_{r2}", "billow", "dense_slow", 5003, r2, f2, ("dense", "slow")),
        SetSpec(f"ood_obstacle_{r2}", "billow", "obstacle_ood", 5004, r2, f2,
                ("obstacles", "dense")),
    ]


# ------------------------------------------------------------------------------------------
# generate


def gauss_lr(x):
    """`billow.ops.downsample(x, 4)` for (C, X, Y, Z), computed axis by axis: blur along one
    axis (same kernel, replicate padding), then take the linear sample at the low-res centre
    4 i + 1.5 (the mean of high-res cells 4 i + 1 and 4 i + 2) before the next axis. Blur and
    sampling are separable and linear, so this equals billow's blur-then-sample to float
    rounding (tests/benchmarks), at a fraction of the cost at 256^3."""
    import torch
    import torch.nn.functional as tf

    from billow.ops.downsample import _gaussian_kernel, blur_sigma

    k = _gaussian_kernel(blur_sigma(FACTOR), x.dtype, x.device)
    r = (k.numel() - 1) // 2
    y = x
    for axis in (1, 2, 3):
        moved = y.movedim(axis, -1)
        shape = moved.shape
        line = moved.reshape(-1, 1, shape[-1])
        line = tf.conv1d(tf.pad(line, (r, r), mode="replicate"), k.reshape(1, 1, -1))
        line = 0.5 * (line[..., 1::FACTOR] + line[..., 2::FACTOR])
        y = line.reshape(*shape[:-1], shape[-1] // FACTOR).movedim(-1, axis)
    return y.contiguous() if isinstance(y, torch.Tensor) else y


def _derive(d, v):
    """High-res density (X, Y, Z) and velocity (3, X, Y, Z) in high-res cells per frame ->
    {"lr": (box density, box velocity), "lr_gauss": (...)}, velocity in low-res cells/frame."""
    import torch.nn.functional as tf

    box_d = tf.avg_pool3d(d[None, None], FACTOR)[0, 0]
    box_v = tf.avg_pool3d(v[None], FACTOR)[0] / FACTOR
    return {"lr": (box_d, box_v),
            "lr_gauss": (gauss_lr(d[None])[0], gauss_lr(v) / FACTOR)}


def write_set_frame(vdb_dir: Path, t: int, d, v, spec: SetSpec) -> None:
    from billow.sim import Domain
    from billow.sim.output import write_frame

    meta = {"billow_ood_set": spec.name, "billow_ood_source": spec.source}
    hr = Domain((spec.hr_res,) * 3)
    lr = Domain((spec.hr_res // FACTOR,) * 3)
    write_frame(vdb_dir / f"hr.{t:04d}.vdb", hr, d.numpy(), v.numpy(), fps=FPS,
                metadata={**meta, "billow_ood_role": "high-res reference"})
    for name, (ld, lv) in _derive(d, v).items():
        write_frame(vdb_dir / f"{name}.{t:04d}.vdb", lr, ld.numpy(), lv.numpy(), fps=FPS,
                    metadata={**meta, "billow_ood_role": "low-res input",
                              "billow_ood_derivation": DERIVATIONS[name].split(":")[0]})


def _phiflow_python(requested: str | None) -> str:
    if requested:
        return requested
    try:
        import phi  # noqa: F401

        return sys.executable
    except ImportError:
        return DEFAULT_PHIFLOW_PYTHON


def _phiflow_raw(spec: SetSpec, raw: Path, python: str, log) -> dict:
    meta_path = raw / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if (meta.get("scene"), meta.get("res"), meta.get("frames"), meta.get("seed")) == (
                spec.scene, spec.hr_res, spec.frames, spec.seed):
            log(f"{spec.name}: PhiFlow frames already simulated ({raw}), reusing them")
            return meta
    if not Path(python).exists() and shutil.which(python) is None:
        raise SystemExit(f"PhiFlow's Python '{python}' not found: make it with `python3.11 -m "
                         f"venv /work/phiflow-venv && /work/phiflow-venv/bin/pip install "
                         f"'numpy<2' phiflow`, or pass --phiflow-python")
    cmd = [python, str(HERE / "ood_phiflow.py"), "--scene", spec.scene, "--res",
           str(spec.hr_res), "--frames", str(spec.frames), "--seed", str(spec.seed), "--out",
           str(raw)]
    log("$ " + shlex.join(cmd))
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env) as proc:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("[phiflow]"):
                log(line.rstrip())
    if proc.returncode:
        sys.stderr.write("".join(lines[-30:]))
        raise SystemExit(f"PhiFlow simulation failed ({shlex.join(cmd)})")
    return json.loads(meta_path.read_text())


def generate_set(spec: SetSpec, root: Path, phiflow_python: str, log) -> dict:
    import numpy as np
    import torch

    set_dir = root / spec.name
    info_path = set_dir / "set.json"
    header = {"format": FORMAT, "name": spec.name, "source": spec.source, "scene": spec.scene,
              "seed": spec.seed, "factor": FACTOR, "hr_res": [spec.hr_res] * 3,
              "lr_res": [spec.hr_res // FACTOR] * 3, "frames": spec.frames, "fps": FPS,
              "tags": list(spec.tags), "up_axis": "y",
              "units": {"vel": "world units per second (domain's largest axis = 1 world unit)",
                        "density": "dimensionless"},
              "inputs": {"lr": DERIVATIONS["lr"], "lr_gauss": DERIVATIONS["lr_gauss"]},
              "default_input": "lr"}
    if info_path.exists():
        old = json.loads(info_path.read_text())
        diff = [k for k in ("format", "source", "scene", "seed", "hr_res", "frames", "factor")
                if old.get(k) != header[k]]
        if diff:
            raise SystemExit(f"{set_dir}: holds a set made with other settings (differs in "
                             f"{', '.join(diff)}); pick another --out")
        log(f"{spec.name}: complete, skipping")
        return old
    vdb_dir = set_dir / "vdb" / "sim_0000"
    vdb_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    stats = {"max_density": 0.0, "max_speed_lr": 0.0, "mean_speed_lr_in_smoke": []}

    def record(t, d, v):
        speed = v.norm(dim=0) / FACTOR
        smoke = d > 0.01
        stats["max_density"] = max(stats["max_density"], float(d.max()))
        stats["max_speed_lr"] = max(stats["max_speed_lr"], float(speed.max()))
        if bool(smoke.any()):
            stats["mean_speed_lr_in_smoke"].append(float(speed[smoke].mean()))
        write_set_frame(vdb_dir, t, d, v, spec)

    if spec.source == "phiflow":
        raw = set_dir / "raw"
        meta = _phiflow_raw(spec, raw, phiflow_python, log)
        t_conv = time.perf_counter()
        for t in range(1, spec.frames + 1):
            with np.load(raw / f"frame_{t:04d}.npz") as z:
                d, v = torch.from_numpy(z["density"]), torch.from_numpy(z["velocity"])
            record(t, d.float(), v.float())
        header.update(description=meta["description"], solver=meta["solver"],
                      phiflow_version=meta.get("phiflow_version"),
                      simulate_seconds=meta["seconds"],
                      convert_seconds=round(time.perf_counter() - t_conv, 1),
                      warmup_frames=meta["warmup_frames"])
    else:
        import ood_scenes

        sc = ood_scenes.build(spec.scene, spec.seed)

        def on_frame(t, info):
            log(f"{spec.name}: frame {t}/{spec.frames} ({info['substeps']} substeps, "
                f"{info['cg_iterations']} CG iterations, {info['seconds']:.1f} s)")

        for t, (d, v) in enumerate(ood_scenes.simulate(sc, spec.hr_res, spec.frames, FACTOR,
                                                       FPS, on_frame), start=1):
            record(t, d, v)
        header.update(description=sc.description, solver="billow.sim.Solver (MacCormack, "
                      "MIC-CG), held-out family of benchmarks/ood_scenes.py",
                      scene_params=sc.to_dict(), warmup_frames=sc.warmup)
    speeds = stats.pop("mean_speed_lr_in_smoke")
    stats["mean_speed_lr_in_smoke"] = float(np.mean(speeds)) if speeds else 0.0
    header.update(stats={k: round(v, 4) for k, v in stats.items()},
                  seconds=round(time.perf_counter() - t0, 1), complete=True)
    tmp = info_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(header, indent=1) + "\n")
    os.replace(tmp, info_path)
    log(f"{spec.name}: done in {header['seconds']} s (max density {stats['max_density']:.3f}, "
        f"mean speed in the smoke {stats['mean_speed_lr_in_smoke']:.3f} low-res cells/frame)")
    return header


def cmd_generate(a) -> int:
    import torch

    torch.set_num_threads(a.threads)
    root = Path(a.out)
    root.mkdir(parents=True, exist_ok=True)
    specs = set_specs(a.quick, a.res, a.res_large, a.frames, a.frames_large)
    if a.sets:
        want = a.sets.split(",")
        unknown = set(want) - {s.name for s in specs}
        if unknown:
            raise SystemExit(f"--sets: unknown {', '.join(sorted(unknown))} (choose "
                             f"{', '.join(s.name for s in specs)})")
        specs = [s for s in specs if s.name in want]
    python = _phiflow_python(a.phiflow_python)

    def log(msg):
        print(f"[ood generate] {msg}", flush=True)

    t0 = time.perf_counter()
    done = [generate_set(s, root, python, log) for s in specs]
    total = round(time.perf_counter() - t0, 1)
    summary = {"sets": {d["name"]: {k: d.get(k) for k in ("source", "scene", "hr_res", "frames",
                                                          "tags", "seconds", "stats")}
                        for d in done}, "seconds_this_run": total}
    (root / "generate_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    log(f"{len(done)} sets in {root} ({total} s this run)")
    return 0


# ------------------------------------------------------------------------------------------
# eval


def _billow(args: list[str], log_path: Path, threads: int) -> None:
    cmd = [sys.executable, "-m", "billow", *args, "--progress", "log"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with open(log_path, "a") as f:
        f.write("$ " + shlex.join(["billow", *args]) + "\n")
        f.flush()
        if subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode:
            raise SystemExit(f"failed: {shlex.join(cmd)} (see {log_path})")


def _frames_exist(pattern: Path, frames) -> bool:
    return all(Path(str(pattern).replace("####", f"{t:04d}")).exists() for t in frames)


def _dense(path: Path, shape):
    """A VDB frame's density pasted into the whole domain [0, shape)."""
    from ood_look import density

    return density(path, shape)


def _scaled_inputs(lr_pattern: Path, out_dir: Path, frames, k: float) -> Path:
    """The input frames with density times k (velocity unchanged), written with billow.io."""
    from billow.io import read_smoke_frame, write_smoke_frame

    out_dir.mkdir(parents=True, exist_ok=True)
    for t in frames:
        dst = out_dir / f"lr.{t:04d}.vdb"
        if dst.exists():
            continue
        fr = read_smoke_frame(Path(str(lr_pattern).replace("####", f"{t:04d}")))
        fr.density = fr.density.with_data(fr.density.data * k)
        write_smoke_frame(dst, fr, style="houdini", metadata={"billow_ood_density_scale": k})
    return out_dir / "lr.####.vdb"


def _metric_frames(n: int, count: int) -> list[int]:
    if count >= n:
        return list(range(1, n + 1))
    import numpy as np

    return sorted({int(round(x)) for x in np.linspace(1, n, count + 2)[1:-1]})


# baselines whose amplitude equivariance is measured (wavelet's noise is scaled by the input's
# energy: not measured, see README_ood.md)
EQUIVARIANT_BASELINES = ("tricubic", "tricubic-bp")
MEASURES_VERSION = 2  # bump when a measure changes: finished sets are then re-measured
KEYS = ("l1", "mass_ratio", "spectrum_error", "residual_ratio", "flicker_ratio")


def eval_set(es: dict, methods: list[dict], out: Path, a, log) -> dict:
    """One evaluation set: every method's upres, `billow eval`, and the extra measures."""
    import numpy as np

    from billow.metrics import (brightness, equivariance, high_band_energy, lattice_measure)

    name, info = es["name"], es["info"]
    set_out = out / name
    set_out.mkdir(parents=True, exist_ok=True)
    res_path = set_out / "results.json"
    nfr = info["frames"]
    if math.prod(info["hr_res"]) >= 256 ** 3 and a.large_frames:
        nfr = min(nfr, a.large_frames)
    frames = f"1-{nfr}"
    method_names = [m["name"] for m in methods]
    if res_path.exists() and not a.fresh:
        old = json.loads(res_path.read_text())
        if (old.get("methods_run"), old.get("metric_frames_count"), old.get("version"),
                old.get("frames")) == (method_names, a.metric_frames, MEASURES_VERSION,
                                       frames):
            log(f"{name}: already evaluated, reusing {res_path}")
            return old
    t_set = time.perf_counter()
    vdb = Path(es["data"]) / "vdb" / "sim_0000"
    lr, hr = vdb / f"{es['input']}.####.vdb", vdb / "hr.####.vdb"

    mframes = _metric_frames(nfr, a.metric_frames)
    mspec = ",".join(map(str, mframes))
    logf = set_out / "commands.log"
    lr_shape, hr_shape = tuple(info["lr_res"]), tuple(info["hr_res"])
    voxel_lr = 1.0 / max(lr_shape)
    result = {"set": name, "data": es["data"], "input": es["input"],
              "derivation": info["inputs"][es["input"]], "source": info["source"],
              "tags": info["tags"], "lr_res": info["lr_res"], "hr_res": info["hr_res"],
              "frames": frames, "metric_frames": mframes, "methods": {}, "reference": {},
              "methods_run": method_names, "metric_frames_count": a.metric_frames,
              "version": MEASURES_VERSION}
    timings = {}
    for m in methods:
        t0 = time.perf_counter()
        up = set_out / m["name"] / "up.####.vdb"
        if a.fresh or not _frames_exist(up, range(1, nfr + 1)):
            log(f"{name}: {m['name']} upres ({nfr} frames)")
            if m["kind"] == "baseline":
                _billow(["baseline", str(lr), str(up), "--method", m["name"], "--frames",
                         frames, "--no-velocity"], logf, a.threads)
            else:
                _billow(["upres", str(lr), str(up), "--model", m["path"], "--frames", frames,
                         "--threads", str(a.threads)], logf, a.threads)
        timings[f"{m['name']} upres"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        report = set_out / "reports" / m["name"]
        if a.fresh or not (report / "metrics.json").exists():
            log(f"{name}: billow eval {m['name']}")
            _billow(["eval", "--output", str(up), "--input", str(lr), "--reference", str(hr),
                     "--frames", frames, "--name", f"{m['name']}_output",
                     "--report", str(report)],
                    logf, a.threads)
        ev = json.loads((report / "metrics.json").read_text())["methods"]
        for mname, r in ev.items():
            row = {k: r["summary"].get(k) for k in KEYS}
            if r.get("kind") == "reference":
                result["reference"].update({k: row[k] for k in ("residual_ratio",
                                                                "flicker_ratio")})
                result["reference"]["residual"] = r["summary"].get("residual")
            else:
                result["methods"][m["name"]] = {**row, "kind": m["kind"]}
        timings[f"{m['name']} eval"] = round(time.perf_counter() - t0, 1)

    # velocity-scale response and equivariance inputs (models: the product path; tricubic:
    # `billow baseline` on the same scaled inputs; wavelet: not measured, see README_ood.md)
    t0 = time.perf_counter()
    scaled = {k: _scaled_inputs(lr, set_out / f"_input_x{k:g}", mframes, k) for k in (0.1, 10)}
    for m in methods:
        if m["kind"] == "model":
            for s in (0, 2):
                p = set_out / f"{m['name']}_vs{s}" / "up.####.vdb"
                if a.fresh or not _frames_exist(p, mframes):
                    log(f"{name}: {m['name']} at --velocity-scale {s}")
                    _billow(["upres", str(lr), str(p), "--model", m["path"], "--frames", mspec,
                             "--velocity-scale", str(s), "--threads", str(a.threads)], logf,
                            a.threads)
        if m["kind"] == "model" or m["name"] in EQUIVARIANT_BASELINES:
            for k, pattern in scaled.items():
                p = set_out / f"{m['name']}_x{k:g}" / "up.####.vdb"
                if a.fresh or not _frames_exist(p, mframes):
                    log(f"{name}: {m['name']} on {k:g} x density")
                    if m["kind"] == "model":
                        _billow(["upres", str(pattern), str(p), "--model", m["path"],
                                 "--frames", mspec, "--threads", str(a.threads)], logf,
                                a.threads)
                    else:
                        _billow(["baseline", str(pattern), str(p), "--method", m["name"],
                                 "--frames", mspec, "--no-velocity"], logf, a.threads)
    timings["extra upres"] = round(time.perf_counter() - t0, 1)

    # the extra measures on the metric frames
    t0 = time.perf_counter()
    acc: dict[str, dict[str, list]] = {m["name"]: {} for m in methods}
    ref_acc: dict[str, list] = {}
    pictures = {}
    totals = []

    def add(d, key, value):
        d.setdefault(key, []).append(value)

    def frame_path(pattern: Path, t: int) -> Path:
        return Path(str(pattern).replace("####", f"{t:04d}"))

    for t in mframes:
        x = _dense(frame_path(lr, t), lr_shape)
        y_ref = _dense(frame_path(hr, t), hr_shape)
        b_in = brightness(x, voxel_lr)
        totals.append(float(x.sum()))
        add(ref_acc, "lattice", lattice_measure(y_ref))
        add(ref_acc, "lattice_in", lattice_measure(y_ref, shell=FACTOR))
        add(ref_acc, "brightness_ratio", brightness(y_ref, voxel_lr / FACTOR) / b_in)
        shown = {"input": picture_planes(nearest(x)), "reference": picture_planes(y_ref)}
        for m in methods:
            r = acc[m["name"]]
            y = _dense(frame_path(set_out / m["name"] / "up.####.vdb", t), hr_shape)
            shown[m["name"]] = picture_planes(y)
            add(r, "lattice", lattice_measure(y))
            # one low-res cell in from the domain walls (`lattice_measure`'s shell)
            add(r, "lattice_in", lattice_measure(y, shell=FACTOR))
            add(r, "brightness_ratio", brightness(y, voxel_lr / FACTOR) / b_in)
            if m["kind"] == "model":
                e1 = high_band_energy(y, FACTOR)
                for s in (0, 2):
                    ys = _dense(frame_path(set_out / f"{m['name']}_vs{s}" / "up.####.vdb", t),
                                hr_shape)
                    add(r, f"hb_vs{s}", high_band_energy(ys, FACTOR) / e1 if e1 > 0 else
                        math.nan)
            if m["kind"] == "model" or m["name"] in EQUIVARIANT_BASELINES:
                for k in (0.1, 10):
                    yk = _dense(frame_path(set_out / f"{m['name']}_x{k:g}" / "up.####.vdb", t),
                                hr_shape)
                    e = equivariance(y, yk, k)
                    add(r, f"eq_rel_l1_x{k:g}", e["rel_l1"])
                    add(r, f"eq_mass_x{k:g}", e["mass_ratio"])
        if t in (mframes[0], mframes[-1]):
            pictures[t] = shown

    def mean(v):
        v = [x for x in v if x is not None and math.isfinite(x)]
        return float(np.mean(v)) if v else None

    result["reference"].update({k: mean(v) for k, v in ref_acc.items()})
    lat_ref = result["reference"]["lattice"]
    tri_l1 = result["methods"]["tricubic"]["l1"] if "tricubic" in result["methods"] else None
    for m in methods:
        r = result["methods"][m["name"]]
        r.update({k: mean(v) for k, v in acc[m["name"]].items()})
        r["lattice_over_reference"] = (r["lattice"] / lat_ref if lat_ref and r.get("lattice")
                                       else None)
        lat_in = result["reference"].get("lattice_in")
        r["lattice_in_over_reference"] = (r["lattice_in"] / lat_in
                                          if lat_in and r.get("lattice_in") else None)
        r["l1_over_tricubic"] = r["l1"] / tri_l1 if tri_l1 and r.get("l1") is not None else None
    timings["measures"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    # the picture: the first and last metric frames, the one with more smoke first
    order = sorted(pictures, key=lambda t: -totals[mframes.index(t)])
    result["picture_frames"] = order
    result["picture"] = str(set_out / "frames.png")
    picture([(f"{name} frame {t}", pictures[t]) for t in order], [m["name"] for m in methods],
            set_out / "frames.png")
    np.savez_compressed(set_out / "picture_frames.npz", **{
        f"f{t}_{k}": v for t in order for k, v in pictures[t].items()})
    timings["picture"] = round(time.perf_counter() - t0, 1)
    result["timings"] = timings
    result["seconds"] = round(time.perf_counter() - t_set, 1)
    res_path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def eval_sets(data: Path, which: str | None, extra: str) -> list[dict]:
    sets = []
    for info_path in sorted(data.glob("*/set.json")):
        info = json.loads(info_path.read_text())
        if info.get("format") != FORMAT or not info.get("complete"):
            continue
        base = {"data": str(info_path.parent), "info": info}
        sets.append({**base, "name": info["name"], "input": "lr", "primary": True})
        if extra == "all" or (extra == "phiflow" and info["source"] == "phiflow"):
            sets.append({**base, "name": info["name"] + "+gauss", "input": "lr_gauss",
                         "primary": False})
    if not sets:
        raise SystemExit(f"{data}: no finished sets (run `generate` first)")
    order = {"phiflow": 0, "billow": 1}
    sets.sort(key=lambda s: (s["info"]["hr_res"][0], order[s["info"]["source"]], s["name"]))
    if which:
        want = which.split(",")
        names = {s["name"] for s in sets}
        missing = [w for w in want if w not in names]
        if missing:
            raise SystemExit(f"--sets: {', '.join(missing)} not in {data} (have "
                             f"{', '.join(sorted(names))})")
        sets = [s for s in sets if s["name"] in want]
    return sets


def cmd_eval(a) -> int:
    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    methods = [{"name": "tricubic", "kind": "baseline"},
               {"name": "tricubic-bp", "kind": "baseline"}]
    if not a.no_wavelet:
        methods.append({"name": "wavelet", "kind": "baseline"})
    for spec in a.model or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--model {spec!r}: expected NAME=PATH")
        if not Path(path).is_file():
            raise SystemExit(f"--model {spec!r}: {path} not found")
        if name in {m["name"] for m in methods} or not name.replace("_", "").isalnum():
            raise SystemExit(f"--model {spec!r}: pick a unique name of letters, digits and _")
        methods.append({"name": name, "kind": "model", "path": str(Path(path).resolve())})
    sets = eval_sets(Path(a.data), a.sets, a.extra)

    def log(msg):
        print(f"[ood eval] {msg}", flush=True)

    t0 = time.perf_counter()
    results = []
    names = [m["name"] for m in methods]
    primary = [s["name"] for s in sets if s["primary"]]
    for es in sets:
        results.append(eval_set(es, methods, out, a, log))
        # write what there is after every set, so a long run can be read as it goes
        md = table(results, names, primary)
        (out / "table.md").write_text(table_doc(a, results, methods, primary, md))
        (out / "results.json").write_text(json.dumps(
            {"command": shlex.join(["python", *sys.argv]), "methods": methods,
             "primary_sets": primary, "sets": results,
             "seconds": round(time.perf_counter() - t0, 1)}, indent=1) + "\n")
    for r in results:  # every set's picture in the current layout, from the kept planes
        set_picture(r, names)
    overview(results, names, out)
    md = table(results, names, primary)
    print(md)
    print(f"(mean over {len(primary)} sets with the default box-average input: "
          f"{', '.join(primary)}; {time.perf_counter() - t0:.0f} s)")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="simulate the benchmark sets")
    g.add_argument("--out", required=True, help="data folder (outside the repository)")
    g.add_argument("--quick", action="store_true", help="tiny sizes, 3 frames (smoke test)")
    g.add_argument("--sets", default=None, help="comma-separated set names (default: all)")
    g.add_argument("--res", type=int, default=None, help="high-res size of the small sets "
                   "(default 128; quick 64); set names carry it")
    g.add_argument("--res-large", type=int, default=None, help="high-res size of the large "
                   "sets (default 256; quick 128)")
    g.add_argument("--frames", type=int, default=None, help="frames of the small sets "
                   "(default 20; quick 3)")
    g.add_argument("--frames-large", type=int, default=None, help="frames of the large sets "
                   "(default 12; quick 3)")
    g.add_argument("--phiflow-python", default=None, help="Python with phiflow installed "
                   f"(default: this one if it has phi, else {DEFAULT_PHIFLOW_PYTHON})")
    g.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    e = sub.add_parser("eval", help="run every method on the sets and measure")
    e.add_argument("--data", required=True, help="folder written by `generate`")
    e.add_argument("--out", required=True, help="folder for upres frames, reports, table")
    e.add_argument("--model", action="append", metavar="NAME=PATH",
                   help="an exported ONNX model (card beside it); repeat for more")
    e.add_argument("--sets", default=None, help="comma-separated set names (default: all, "
                   "plus the +gauss inputs of --extra)")
    e.add_argument("--extra", choices=("phiflow", "all", "none"), default="phiflow",
                   help="which sets are also evaluated on the Gaussian-derived input "
                   "(default: the PhiFlow sets)")
    e.add_argument("--metric-frames", type=int, default=3,
                   help="frames per set for the lattice, velocity-scale, equivariance and "
                   "brightness measures (default 3)")
    e.add_argument("--large-frames", type=int, default=4,
                   help="evaluate sets of 256^3 voxels or more on their first N frames only "
                   "(default 4; 0 = all): one `billow eval` of a 256^3 frame takes over a "
                   "minute on one loaded core")
    e.add_argument("--threads", type=int, default=1, help="CPU threads per billow command")
    e.add_argument("--no-wavelet", action="store_true", help="skip wavelet turbulence")
    e.add_argument("--fresh", action="store_true", help="redo finished sets and frames")
    a = p.parse_args()
    return cmd_generate(a) if a.cmd == "generate" else cmd_eval(a)


if __name__ == "__main__":
    sys.exit(main())
