"""What `billow steady` buys and costs out of family: the shipped model's upres with and
without the filter along the flow, on the out-of-family benchmark's sets, measured by
`billow eval` against the real high-res simulation.

    python benchmarks/steady_ood.py --data /work/data/ood --eval /work/data/ood_eval \\
        --out /work/data/steady_eval --steady "steady3=--taps 1,1,1" \\
        --steady "steady5=--taps 1,1,1,1,1"

For each set (the five 32^3 -> 128^3 sets by default): `billow upres --write-velocity` with the
model (default: the shipped one), then `billow steady ARGS` for each `--steady LABEL=ARGS`, then
`billow eval` of each against the reference, through the user's commands. Prints L1 over tricubic's
(tricubic's L1 from `ood_benchmark.py eval`'s results in --eval), flicker over the reference's,
spectrum error and mass per set and the mean, and writes OUT/table.md and OUT/results.json.
The unfiltered row must equal the benchmark's row for the same model (the same density; it is
checked and a mismatch stops the run). Resumes: finished commands are skipped.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from pathlib import Path

from ood_benchmark import _billow
from ood_benchmark import _frames_exist as _done

SETS = ("phi_dense_128", "phi_wisps_128", "ood_dense_128", "ood_wisps_128", "ood_obstacle_128")
KEYS = ("l1", "flicker_ratio", "spectrum_error", "mass_ratio")


def _summary(report: Path) -> dict:
    ev = json.loads((report / "metrics.json").read_text())["methods"]
    row = next(r for r in ev.values() if r.get("kind") != "reference")
    return {k: row["summary"].get(k) for k in KEYS}


def run_set(name: str, a, model: str | None) -> dict:
    bench = json.loads((a.eval / name / "results.json").read_text())
    first, last = (int(x) for x in bench["frames"].split("-"))
    frames = range(first, last + 1)
    vdb = Path(bench["data"]) / "vdb" / "sim_0000"
    lr, hr = vdb / f"{bench['input']}.####.vdb", vdb / "hr.####.vdb"
    out = a.out / name
    out.mkdir(parents=True, exist_ok=True)
    log = out / "commands.log"
    raw = out / "raw" / "up.####.vdb"
    if not _done(raw, frames):
        _billow(["upres", str(lr), str(raw), "--frames", bench["frames"], "--write-velocity",
                 "--threads", str(a.threads), *(["--model", model] if model else [])], log,
                a.threads)
    methods = {"raw": raw}
    for label, args in a.steady:
        p = out / label / "up.####.vdb"
        if not _done(p, frames):
            _billow(["steady", str(raw), str(p), *args], log, a.threads)
        methods[label] = p
    rows = {}
    for label, p in methods.items():
        report = out / "reports" / label
        if not (report / "metrics.json").exists():
            _billow(["eval", "--output", str(p), "--input", str(lr), "--reference", str(hr),
                     "--frames", bench["frames"], "--name", f"{label}_output", "--report",
                     str(report)], log, a.threads)
        rows[label] = _summary(report)
    tri = bench["methods"]["tricubic"]["l1"]
    for r in rows.values():
        r["l1_over_tricubic"] = r["l1"] / tri
    if a.check and a.check in bench["methods"]:
        want = bench["methods"][a.check]
        for k in ("l1", "flicker_ratio", "spectrum_error"):
            if not math.isclose(rows["raw"][k], want[k], rel_tol=1e-6):
                raise SystemExit(f"{name}: the unfiltered {k} {rows['raw'][k]:.6g} is not the "
                                 f"benchmark's {a.check} {want[k]:.6g}: not the same model?")
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="`ood_benchmark.py generate` output")
    p.add_argument("--eval", type=Path, required=True, help="`ood_benchmark.py eval` output")
    p.add_argument("--out", type=Path, required=True, help="folder for this script's frames")
    p.add_argument("--steady", action="append", required=True, metavar="LABEL=ARGS",
                   help="repeatable: a label and its `billow steady` options, e.g. "
                   "'steady5=--taps 1,1,1,1,1'")
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    p.add_argument("--check", default="s28c", help="the benchmark's name for the same model, "
                   "whose figures the unfiltered row must equal ('' to skip)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    steady = []
    for spec in a.steady:
        label, _, args = spec.partition("=")
        if not label.isidentifier() or label == "raw":
            print(f"steady_ood: --steady {spec!r}: expected LABEL=ARGS, LABEL letters, digits "
                  "and _ (not 'raw')", file=sys.stderr)
            return 2
        steady.append((label, shlex.split(args)))
    a.steady = steady
    for name in a.sets.split(","):
        if not (a.eval / name / "results.json").exists():
            print(f"steady_ood: {a.eval / name / 'results.json'} not found (run "
                  "ood_benchmark.py eval first)", file=sys.stderr)
            return 2
    a.out.mkdir(parents=True, exist_ok=True)
    results = {name: run_set(name, a, a.model) for name in a.sets.split(",")}
    labels = list(next(iter(results.values())))
    lines = ["| set | method | L1 / tricubic | flicker / reference | spectrum error | mass |",
             "|---|---|---|---|---|---|"]
    for name, rows in results.items():
        for label in labels:
            r = rows[label]
            lines.append(f"| {name} | {label} | {r['l1_over_tricubic']:.3f} | "
                         f"{r['flicker_ratio']:.3f} | {r['spectrum_error']:.3f} | "
                         f"{r['mass_ratio']:.4f} |")
    for label in labels:
        mean = {k: sum(rows[label][k] for rows in results.values()) / len(results)
                for k in ("l1_over_tricubic", "flicker_ratio", "spectrum_error", "mass_ratio")}
        lines.append(f"| mean | {label} | {mean['l1_over_tricubic']:.3f} | "
                     f"{mean['flicker_ratio']:.3f} | {mean['spectrum_error']:.3f} | "
                     f"{mean['mass_ratio']:.4f} |")
    text = "\n".join(lines)
    print(text)
    (a.out / "table.md").write_text(text + "\n")
    (a.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
