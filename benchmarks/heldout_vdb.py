"""Evaluate exported 3D models on held-out VDB simulations the way a user would: `billow upres`
then `billow eval` (tricubic and wavelet turbulence beside them), one report per model and set,
and one JSON with every set's figures and their mean for `billow export --eval`.

    python benchmarks/heldout_vdb.py engine/billow/models/smoke3d_x4.onnx \
        --set data/heldout3d_128v:31-50 --set data/heldout3d_128b:41-60 \
        --out eval3d --json eval3d/summary.json

A set is `DATA:FIRST-LAST`: a `billow dataset --vdb` folder (its first simulation is used) and
its VDB frame numbers. Reports land in OUT/<set>/<model>_report/index.html; the first picture
of each report (input, ours, baselines, reference) is also written as a PNG beside it.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

KEYS = ("l1", "psnr", "mass_ratio", "spectrum_error", "detail_log_ratio", "residual_ratio",
        "flicker_ratio", "detail_residual")


def billow(*args: str, log: Path) -> None:
    cmd = [sys.executable, "-m", "billow", *args, "--progress", "log"]
    with open(log, "a") as f:
        f.write("$ " + shlex.join(["billow", *args]) + "\n")
        f.flush()
        if subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode:
            raise SystemExit(f"failed: {shlex.join(cmd)} (see {log})")


def first_picture(report: Path) -> Path | None:
    html = (report / "index.html").read_text()
    m = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    if not m:
        return None
    png = report.with_suffix(".png")
    png.write_bytes(base64.b64decode(m.group(1)))
    return png


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="exported .onnx models (card beside each)")
    p.add_argument("--set", dest="sets", action="append", required=True,
                   metavar="DATA:FIRST-LAST", help="held-out `billow dataset --vdb` folder and "
                   "VDB frames (repeat for more sets)")
    p.add_argument("--out", required=True, help="folder for upres frames and reports")
    p.add_argument("--json", default=None, help="write every set's figures and the means here")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "commands.log"
    result = {"command": shlex.join(["python", *sys.argv]), "sets": {}, "models": {}}
    t0 = time.perf_counter()
    for spec in a.sets:
        data, _, frames = spec.rpartition(":")
        if not data or not re.fullmatch(r"\d+-\d+", frames):
            raise SystemExit(f"--set {spec!r}: expected DATA:FIRST-LAST")
        vdb = Path(data) / "vdb" / "sim_0000"
        lr, hr = str(vdb / "lr.####.vdb"), str(vdb / "hr.####.vdb")
        if not (vdb / f"lr.{int(frames.split('-')[0]):04d}.vdb").is_file():
            raise SystemExit(f"--set {spec!r}: no {lr} frames (make it with `billow dataset "
                             "--vdb`)")
        name = Path(data).name
        for model in a.models:
            mname = Path(model).stem
            print(f"[heldout_vdb] {name} frames {frames}: {mname} (upres, eval; log {log})",
                  flush=True)
            up = out / name / mname / "up.####.vdb"
            report = out / name / f"{mname}_report"
            billow("upres", lr, str(up), "--model", model, "--frames", frames, log=log)
            billow("eval", "--output", str(up), "--input", lr, "--reference", hr,
                   "--baselines", "tricubic,wavelet", "--frames", frames, "--name", mname,
                   "--report", str(report), log=log)
            first_picture(report)
            methods = json.loads((report / "metrics.json").read_text())["methods"]
            rows = result["sets"].setdefault(name, {"frames": frames})
            for method, m in methods.items():
                key = mname if m.get("kind") == "output" else method
                rows[key] = {k: m["summary"].get(k) for k in KEYS}
    names = list(result["sets"])
    for key in {k for s in result["sets"].values() for k in s if k != "frames"}:
        rows = [result["sets"][n][key] for n in names if key in result["sets"][n]]
        result["models"][key] = {k: (sum(r[k] for r in rows) / len(rows)
                                     if all(r[k] is not None for r in rows) else None)
                                 for k in KEYS}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"| method | {' | '.join(KEYS)} |")
    print("|---" * (len(KEYS) + 1) + "|")
    for key, r in sorted(result["models"].items()):
        cells = ["-" if r[k] is None else f"{r[k]:.4g}" for k in KEYS]
        print(f"| {key} | {' | '.join(cells)} |")
    print(f"(mean over {len(names)} sets: {', '.join(names)}; {result['seconds']} s)")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
