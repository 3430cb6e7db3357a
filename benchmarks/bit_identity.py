"""Bit-identity check for restructures ("moves and merges, no change of results").

Runs the engine's commands at small sizes in a temporary folder, on the bundled sample
(`engine/billow/samples/plume_32.vdb`) and on tiny seeded simulations, and hashes every output's
data: VDB grids (read with billow's own reader: voxel array, index offset, transform, class,
vector type, metadata), `.npz` arrays, JSON files, PNG pixels and the pictures embedded in the
eval report. Timings, command lines and temporary paths are left out of the hashes.

    python benchmarks/bit_identity.py --out before.json        # record
    python benchmarks/bit_identity.py --compare before.json    # exit 1 and list differences

The commands run as `python -m billow` with `PYTHONPATH` set to this checkout's `engine/`, with
fixed thread counts, so a branch is compared with the recording made on another commit.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]  # the checkout under test (--repo changes it)
FORMAT = "billow-bitid/1"

# keys whose values are timings or the command line: not results
VOLATILE_KEYS = {"command", "seconds", "timings", "seconds_per_frame", "wall_s", "elapsed",
                 "elapsed_s", "created", "created_at", "date", "host", "hostname"}
THREADS = "2"


# ---- the runs --------------------------------------------------------------------------------

def uv_inputs(folder: Path, frames: int = 3, size: int = 48) -> dict:
    """A tiny, seeded figure for the UV commands, written with numpy and OpenCV only (so it does
    not depend on the engine's UV modules): a body (raw 8-bit DensePose IUV, part 2, jittered per
    frame) with a skirt below it (in the RGB alpha only), drifting right one pixel per frame,
    coloured by smooth random blobs looked up at the true UVs."""
    import cv2

    rng = np.random.default_rng(5)
    tex = cv2.GaussianBlur(rng.random((64, 64, 3)).astype(np.float32), (0, 0), 3.0)
    tex = (tex - tex.min()) / (tex.max() - tex.min())
    ys, xs = np.mgrid[0:size, 0:size]
    for t in range(frames):
        xc = size // 2 + t
        body = (ys >= 6) & (ys < 26) & (np.abs(xs + 0.5 - xc) < 8)
        skirt = (ys >= 26) & (ys < size - 6) & (np.abs(xs + 0.5 - xc) < 8 + (ys - 26) * 0.5)
        fg = body | skirt
        u = np.clip((xs - xc + 24 + 0.5) / 48, 0, 1)
        v = np.clip(1 - (ys - 2 + 0.5) / 48, 0, 1)
        texel = tex[np.clip(((1 - v) * 63).astype(int), 0, 63), np.clip((u * 63).astype(int), 0, 63)]
        rgba = np.concatenate([texel, fg[..., None].astype(np.float32)], -1)
        rgba[~fg, :3] = 0
        jx, jy = rng.uniform(-1.5 / 48, 1.5 / 48, 2)
        iuv = np.stack([np.where(body, 2, 0), np.rint(np.clip(u + jx, 0, 1) * 255) * body,
                        np.rint(np.clip(v + jy, 0, 1) * 255) * body], -1).astype(np.uint8)
        name = f"frame.{t + 1:04d}.png"
        for sub, img in (("rgb", np.rint(rgba * 255).astype(np.uint8)[..., [2, 1, 0, 3]]),
                         ("raw", iuv[..., ::-1])):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / sub / name), img)
    return {k: f"uvin/{k}/frame.####.png" for k in ("rgb", "raw")}


def steps(with_uv: bool) -> list[tuple[str, list[list[str]], list[str]]]:
    """(name, commands, output paths or folders hashed for this step), run in order in one
    temporary folder; later steps read earlier outputs."""
    s = str(REPO / "engine" / "billow" / "samples" / "plume_32.vdb")
    uv_model = str(next((p for p in (REPO / "models" / "uv_garment.onnx",
                                      REPO / "engine" / "billow" / "models" / "uv_garment.onnx")
                         if p.exists()), "uv_garment.onnx"))
    none = ["--progress", "none"]
    out = [
        ("upres", [["upres", s, "upres/plume.vdb", "--threads", THREADS, *none]],
         ["upres"]),
        ("sim", [["sim", "--res", "24", "--frames", "3", "--seed", "3",
                  "--out", "sim/smoke.####.vdb", *none]], ["sim"]),
        ("sim_2d_jacobi", [["sim", "--dim", "2", "--res", "32", "--frames", "3", "--seed", "4",
                            "--preset", "obstacle", "--preconditioner", "jacobi",
                            "--out", "sim2d/smoke.####.vdb", *none]], ["sim2d"]),
        ("sim_multigrid", [["sim", "--res", "16", "--frames", "2", "--seed", "5",
                            "--preset", "jet", "--preconditioner", "multigrid",
                            "--out", "simmg/smoke.####.vdb", *none]], ["simmg"]),
        ("sim_torch", [["sim", "--res", "16", "--frames", "2", "--seed", "6", "--backend",
                        "torch", "--out", "simtorch/smoke.####.vdb", *none]], ["simtorch"]),
        ("dataset", [["dataset", "--out", "ds", "--sims", "1", "--res", "32", "--frames", "3",
                      "--seed", "1", "--vdb", *none]], ["ds"]),
        ("upres_sequence", [["upres", "ds/vdb/sim_0000/lr.####.vdb", "upds/up.####.vdb",
                             "--threads", THREADS, "--write-velocity", *none]], ["upds"]),
        ("eval_sample", [["eval", "--output", "upres/plume.vdb", "--input", s,
                          "--baselines", "tricubic", "--report", "eval_sample", *none]],
         ["eval_sample"]),
        ("eval_reference", [["eval", "--output", "upds/up.####.vdb",
                             "--input", "ds/vdb/sim_0000/lr.####.vdb",
                             "--reference", "ds/vdb/sim_0000/hr.####.vdb",
                             "--baselines", "tricubic", "--report", "eval_ds", *none]],
         ["eval_ds"]),
        ("baseline", [["baseline", s, "baseline/plume.vdb", *none]], ["baseline"]),
        ("baseline_wavelet", [["baseline", "ds/vdb/sim_0000/lr.####.vdb",
                               "wavelet/wt.####.vdb", "--method", "wavelet", *none]],
         ["wavelet"]),
    ]
    if with_uv:
        fast = ["--push-iters", "10", "--pull-iters", "10", "--threads", THREADS, *none]
        rgb, raw = "uvin/rgb/frame.####.png", "uvin/raw/frame.####.png"
        out += [
            ("uv_preprocess", [["uv", "preprocess", "--uv", raw, "--rgb", rgb, "--out-dir",
                                "uvpre", "--texture-size", "48", "--iters", "8", *fast]],
             ["uvpre"]),
            ("uv_eval", [["uv", "eval", "--uv", "uvpre/relocated/frame.####.png", "--rgb", rgb,
                          "--texture", "uvpre/texture.png", "--json", "uveval/eval.json",
                          "--recon", "uveval/recon.####.png", "--threads", THREADS, *none]],
             ["uveval"]),
            ("uv_infer", [["uv", "infer", "--raw", raw, "--model", uv_model, "--out",
                           "uvinf/frame.####.png", "--threads", THREADS, *none]], ["uvinf"]),
            ("retexture", [["retexture", "--uv", "uvinf/frame.####.png", "--texture",
                            "uvpre/texture.png", "--background", rgb, "--out",
                            "retex/frame.####.png", "--jobs", "1", *none]], ["retex"]),
        ]
    return out


# ---- hashing ---------------------------------------------------------------------------------

def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()


def _array(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a)
    info = {"sha256": _sha(str(a.dtype).encode(), repr(a.shape).encode(), a.tobytes()),
            "shape": list(a.shape), "dtype": str(a.dtype)}
    if a.dtype.kind in "fiub" and a.size:
        info["sum"] = float(a.astype(np.float64).sum())
    return info


def _clean(value, roots: list[tuple[str, str]]):
    """JSON value without volatile keys, with temporary/repository paths made relative."""
    if isinstance(value, dict):
        return {k: _clean(v, roots) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, (list, tuple)):
        return [_clean(v, roots) for v in value]
    if isinstance(value, str):
        for real, alias in roots:
            value = value.replace(real, alias)
        return value
    return value


def _json_entry(value) -> dict:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return {"sha256": _sha(text.encode()), "bytes": len(text)}


def hash_vdb(path: Path, roots) -> dict[str, dict]:
    from billow.io.vdb import list_grids, read_grid

    out = {}
    for info in list_grids(path):
        vol = read_grid(path, info.name, check_finite=False)
        entry = _array(vol.data)
        header = {"offset": [int(o) for o in vol.offset], "matrix": np.asarray(vol.matrix).tolist(),
                  "class": vol.grid_class, "vector_type": vol.vector_type,
                  "background": vol.background, "value_type": info.value_type,
                  "half": info.saved_as_half,
                  "metadata": _clean({k: _plain(v) for k, v in vol.metadata.items()}, roots)}
        entry["header_sha256"] = _json_entry(header)["sha256"]
        out[f"grid:{info.name}"] = entry
    return out


def _plain(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    return str(v)


def hash_image(data: bytes) -> dict:
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return _array(img)


def hash_file(path: Path, roots) -> dict[str, dict]:
    """{part: entry} for one output file; {} for files that hold no results (tables derived
    from metrics.json with a seconds column, logs)."""
    suffix = path.suffix.lower()
    if suffix == ".vdb":
        return hash_vdb(path, roots)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {f"array:{k}": _array(z[k]) for k in sorted(z.files)}
    if suffix == ".json":
        return {"json": _json_entry(_clean(json.loads(path.read_text()), roots))}
    if suffix in (".png", ".exr", ".tif"):
        return {"pixels": hash_image(path.read_bytes())}
    if suffix == ".html":
        images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", path.read_text())
        return {f"picture:{i}": hash_image(base64.b64decode(b)) for i, b in enumerate(images)}
    return {}


def hash_outputs(work: Path, targets: list[str]) -> dict[str, dict]:
    roots = [(str(work) + os.sep, ""), (str(work), "."), (str(REPO), "<repo>")]
    out = {}
    for t in targets:
        base = work / t
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for f in files:
            for part, entry in hash_file(f, roots).items():
                out[f"{f.relative_to(work).as_posix()} {part}"] = entry
    return out


# ---- driver ----------------------------------------------------------------------------------

def run_all(work: Path, with_uv: bool, log) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "engine"), env.get("PYTHONPATH", "")])
    env.update(OMP_NUM_THREADS=THREADS, MKL_NUM_THREADS=THREADS, PYTHONHASHSEED="0")
    if with_uv:
        uv_inputs(work / "uvin")
    result = {}
    for name, commands, targets in steps(with_uv):
        t0 = time.perf_counter()
        for argv in commands:
            r = subprocess.run([sys.executable, "-m", "billow", *argv], cwd=work, env=env,
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"bit_identity: step {name}: `billow {' '.join(argv)}` exited "
                                 f"{r.returncode}:\n{r.stderr[-3000:]}")
        outputs = hash_outputs(work, targets)
        result[name] = {"seconds": round(time.perf_counter() - t0, 2),
                        "commands": [" ".join(a).replace(str(REPO), "<repo>") for a in commands],
                        "outputs": outputs}
        log(f"{name:18s} {len(outputs):3d} outputs hashed in {result[name]['seconds']:.1f} s")
    return result


def compare(before: dict, after: dict) -> list[str]:
    """One line per output: same, DIFFERENT, MISSING (in before only) or NEW (after only)."""
    lines, bad = [], 0
    for step in sorted(set(before) | set(after), key=lambda s: list(before).index(s)
                       if s in before else len(before)):
        a = before.get(step, {}).get("outputs", {})
        b = after.get(step, {}).get("outputs", {})
        if step not in after:
            lines.append(f"MISSING   {step} (step not run)")
            bad += 1
            continue
        for key in sorted(set(a) | set(b)):
            if key not in b:
                lines.append(f"MISSING   {step}: {key}")
            elif key not in a:
                lines.append(f"NEW       {step}: {key}")
            elif (a[key]["sha256"], a[key].get("header_sha256")) != \
                    (b[key]["sha256"], b[key].get("header_sha256")):
                what = "data" if a[key]["sha256"] != b[key]["sha256"] else "header/metadata"
                extra = f" (sum {a[key].get('sum')} -> {b[key].get('sum')})" \
                    if "sum" in a[key] else ""
                lines.append(f"DIFFERENT {step}: {key}: {what}{extra}")
            else:
                lines.append(f"same      {step}: {key}")
                continue
            bad += 1
    lines.append(f"bit identity: {'OK' if bad == 0 else 'FAILED'} "
                 f"({sum(1 for x in lines if x.startswith('same'))} same, {bad} differ)")
    return lines


def main() -> int:
    global REPO
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, help="write the hashes as JSON here")
    p.add_argument("--compare", type=Path, help="JSON recorded earlier: exit 1 on any difference")
    p.add_argument("--no-uv", action="store_true", help="skip the UV commands (about 15 s)")
    p.add_argument("--keep", type=Path, help="run in this folder (emptied first) and keep it")
    p.add_argument("--repo", type=Path, default=REPO,
                   help="checkout to test (default: the one holding this script)")
    args = p.parse_args()
    REPO = args.repo.resolve()
    sys.path.insert(0, str(REPO / "engine"))  # hash with this checkout's reader

    before = None
    if args.compare:
        before = json.loads(args.compare.read_text())
        if before.get("format") != FORMAT:
            raise SystemExit(f"{args.compare}: not a {FORMAT} file")
    with_uv = not args.no_uv and (before is None or "uv_infer" in before["steps"])

    def log(msg):
        print(msg, flush=True)

    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        steps_done = run_all(args.keep.resolve(), with_uv, log)
    else:
        with tempfile.TemporaryDirectory(prefix="billow_bitid_") as tmp:
            steps_done = run_all(Path(tmp), with_uv, log)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    record = {"format": FORMAT, "commit": commit, "python": sys.version.split()[0],
              "numpy": np.__version__, "steps": steps_done}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
        print(f"wrote {args.out}")
    if before is not None:
        lines = compare(before["steps"], steps_done)
        print("\n".join(lines))
        return 0 if lines[-1].startswith("bit identity: OK") else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
