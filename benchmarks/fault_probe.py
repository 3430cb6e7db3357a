"""Fault probe of issue 16: run every case of the issue against the real `billow` CLI in
subprocesses and print one markdown row per case (command, exit code, last stderr line, number
of stderr lines, whether data was lost or a wrong result was written silently).

    python benchmarks/fault_probe.py [--only 1a,5b] [--keep DIR]

Small sizes (a few seconds per case, about 2 minutes in all). Cases that need to be an
unprivileged user drop root's file-permission capabilities (CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH) in the child, so they work when the probe runs as root. Exits 1 when
an expected failure (exit 2 or 3) prints anything besides its one `error:` line.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))

from billow.io.openvdb_module import openvdb  # noqa: E402

MODEL = ROOT / "engine" / "billow" / "models" / "smoke3d_x4.onnx"


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT / "engine") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def limit_file_size(nbytes: int):
    def pre():
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return pre


def unprivileged():
    """Drop the capabilities that let root read any file (the child then obeys file modes)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP


PEAK = {"mb": 0.0}  # peak resident memory of the last child, MB


def run(args, cwd, preexec=None, timeout=300):
    """(exit code, stdout, stderr, seconds) of one CLI run; its peak RSS goes to PEAK."""
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-m", "billow", *map(str, args)], cwd=cwd,
                             env=env(), stdout=out, stderr=err, text=True, preexec_fn=preexec)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
        PEAK["mb"] = usage.ru_maxrss / 1024
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), time.perf_counter() - t


def grid(name, data, offset=(0, 0, 0), voxel=0.1):
    vdb = openvdb()
    g = vdb.Vec3SGrid() if data.ndim == 4 else vdb.FloatGrid()
    g.name = name
    g.copyFromArray(np.ascontiguousarray(data, np.float32), tuple(offset))
    g.transform = vdb.createLinearTransform(voxel)
    return g


def blob(n=12, amp=0.8):
    c = np.arange(n) - (n - 1) / 2
    x, y, z = np.meshgrid(c, c, c, indexing="ij")
    return (amp * np.exp(-(x**2 + y**2 + z**2) / (n / 4) ** 2)).astype(np.float32)


def smoke_file(path, density=None, velocity=None, extra=()):
    d = blob() if density is None else density
    v = np.zeros(d.shape + (3,), np.float32) if velocity is None else velocity
    v[..., 1] = np.where(d > 0, 0.5, 0.0) if velocity is None else v[..., 1]
    path.parent.mkdir(parents=True, exist_ok=True)
    openvdb().write(str(path), [grid("density", d), grid("vel", v), *extra])
    return path


def digest(path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest() if Path(path).exists() else "-"


def readable(path) -> bool:
    try:
        openvdb().readAllGridMetadata(str(path))
        return Path(path).stat().st_size > 0
    except Exception:
        return False


def temporaries(folder) -> list[str]:
    return sorted(p.name for p in Path(folder).rglob(".*.tmp-*"))


CASES = {}


def case(key, title):
    def wrap(fn):
        CASES[key] = (title, fn)
        return fn
    return wrap


def seq(tmp, n=3, name="x/smoke.{:04d}.vdb"):
    for f in range(1, n + 1):
        smoke_file(tmp / name.format(f))


# 1. full disk -----------------------------------------------------------------------------

@case("1a", "upres, disk full (ulimit -f 20 KB) over finished frames")
def _(tmp):
    seq(tmp)
    code, _, err, _ = run(["upres", "x/smoke.####.vdb", "out/up.####.vdb", "--progress",
                           "none"], tmp)
    before = {f: digest(tmp / f"out/up.{f:04d}.vdb") for f in (1, 2, 3)}
    code, out, err, _ = run(["upres", "x/smoke.####.vdb", "out/up.####.vdb", "--progress",
                             "none"], tmp, limit_file_size(20_000))
    lost = [f for f, h in before.items() if digest(tmp / f"out/up.{f:04d}.vdb") != h
            and not readable(tmp / f"out/up.{f:04d}.vdb")]
    return code, err, f"yes: frames {lost} damaged" if lost else "no"


@case("1b", "upres --skip-existing after a full disk left truncated frames")
def _(tmp):
    seq(tmp)
    run(["upres", "x/smoke.####.vdb", "out/up.####.vdb", "--progress", "none"], tmp)
    for f in (1, 3):
        p = tmp / f"out/up.{f:04d}.vdb"
        p.write_bytes(p.read_bytes()[:20000])
    (tmp / "out/up.0002.vdb").write_bytes(b"")
    code, out, err, _ = run(["upres", "x/smoke.####.vdb", "out/up.####.vdb", "--skip-existing",
                             "--progress", "none"], tmp)
    bad = [f for f in (1, 2, 3) if not readable(tmp / f"out/up.{f:04d}.vdb")]
    return code, err, f"yes: frames {bad} left damaged" if bad else "no (redone)"


@case("1c", "convert, disk full (ulimit -f 20 KB)")
def _(tmp):
    seq(tmp)
    run(["convert", "x/smoke.####.vdb", "out/c.####.vdb", "--progress", "none"], tmp)
    code, out, err, _ = run(["convert", "x/smoke.####.vdb", "out/c.####.vdb", "--progress",
                             "none"], tmp, limit_file_size(6_000))
    bad = [f for f in (1, 2, 3) if not readable(tmp / f"out/c.{f:04d}.vdb")]
    return code, err, f"yes: frames {bad} damaged" if bad else "no"


@case("1d", "sim, disk full (ulimit -f 30 KB), then resume")
def _(tmp):
    code, out, err, _ = run(["sim", "--res", "16", "--frames", "3", "--out", "s/smoke.####.vdb",
                             "--progress", "none"], tmp, limit_file_size(30_000))
    code2, _, err2, _ = run(["sim", "--res", "16", "--frames", "3", "--out", "s/smoke.####.vdb",
                             "--progress", "none"], tmp)
    bad = [f for f in (1, 2, 3) if not readable(tmp / f"s/smoke.{f:04d}.vdb")]
    return code, err, (f"yes: frames {bad} damaged after resume (exit {code2})" if bad
                       else f"no (resume exit {code2})")


# 2. output = input ------------------------------------------------------------------------

def _same_path(tmp, command, extra=()):
    seq(tmp)
    before = digest(tmp / "x/smoke.0001.vdb")
    code, out, err, _ = run([command, "x/smoke.####.vdb", "./x/smoke.$F4.vdb", *extra,
                             "--progress", "none"], tmp)
    return code, err, "yes: input overwritten" if digest(tmp / "x/smoke.0001.vdb") != before \
        else "no"


@case("2a", "upres x/smoke.####.vdb ./x/smoke.$F4.vdb")
def _(tmp):
    return _same_path(tmp, "upres")


@case("2b", "convert onto its input")
def _(tmp):
    return _same_path(tmp, "convert")


@case("2c", "baseline onto its input")
def _(tmp):
    return _same_path(tmp, "baseline")


# 3./4. model cards ------------------------------------------------------------------------

def card_copy(tmp, change, name="m"):
    folder = tmp / "models"
    folder.mkdir(exist_ok=True)
    for ext in (".onnx", ".pt"):
        shutil.copy(MODEL.with_suffix(ext), folder / f"{name}{ext}")
    card = json.loads(MODEL.with_suffix(".json").read_text())
    card["torch"]["weights"] = f"{name}.pt"
    card = change(card) or card
    (folder / f"{name}.json").write_text(json.dumps(card))
    return folder / f"{name}.onnx"


@case("3", "card with torch module os:system, --backend torch")
def _(tmp):
    smoke_file(tmp / "in.vdb")
    marker = tmp / "PWNED"

    def hostile(c):
        c["torch"]["module"] = "os:system"
        c["torch"]["kwargs"] = {"command": f"touch {marker}"}
    model = card_copy(tmp, hostile)
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--model", model, "--backend",
                             "torch", "--progress", "none"], tmp)
    return code, err, "yes: ran the card's command" if marker.exists() else "no"


def _lying(tmp, change, what):
    smoke_file(tmp / "in.vdb")
    model = card_copy(tmp, change)
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--model", model, "--progress",
                             "none"], tmp)
    if code != 0 or not (tmp / "out.vdb").exists():
        return code, err, "no"
    return code, err, f"yes: {what}"


@case("4a", "card says scale 2 on the x4 network")
def _(tmp):
    return _lying(tmp, lambda c: c.update(scale=2), "wrong output written")


@case("4b", "card says halo 0")
def _(tmp):
    return _lying(tmp, lambda c: c.update(halo=0), "tiles not seam-free")


@case("4c", "card swaps input channels vel.x/vel.y")
def _(tmp):
    return _lying(tmp, lambda c: c.update(inputs=["density", "vel.y", "vel.x", "vel.z"]),
                  "velocity fed to the wrong channels")


# 5. memory follows the bounding box ---------------------------------------------------------

def far_apart(tmp, distance):
    d = np.full((2, 2, 2), 0.5, np.float32)
    vdb = openvdb()
    g = vdb.FloatGrid()
    g.name = "density"
    g.copyFromArray(d, (0, 0, 0))
    g.copyFromArray(d, (distance,) * 3)
    v = vdb.Vec3SGrid()
    v.name = "vel"
    v.copyFromArray(np.zeros((2, 2, 2, 3), np.float32), (0, 0, 0))
    v.copyFromArray(np.zeros((2, 2, 2, 3), np.float32), (distance,) * 3)
    vdb.write(str(tmp / "far.vdb"), [g, v])


def _peak_mb():
    return PEAK["mb"]


@case("5a", "upres, two voxel blobs 1e5 cells apart")
def _(tmp):
    far_apart(tmp, 100_000)
    code, out, err, _ = run(["upres", "far.vdb", "out.vdb", "--progress", "none"], tmp)
    return code, err, f"peak RSS {_peak_mb():.0f} MB"


@case("5b", "convert, two voxel blobs 1e5 cells apart")
def _(tmp):
    far_apart(tmp, 100_000)
    code, out, err, _ = run(["convert", "far.vdb", "out.vdb", "--progress", "none"], tmp)
    return code, err, f"peak RSS {_peak_mb():.0f} MB"


@case("5c", "baseline, two voxel blobs 1e5 cells apart")
def _(tmp):
    far_apart(tmp, 100_000)
    code, out, err, _ = run(["baseline", "far.vdb", "out.vdb", "--progress", "none"], tmp)
    return code, err, f"peak RSS {_peak_mb():.0f} MB"


@case("5d", "eval (input, its tricubic baseline, nearest), two voxel blobs 1e5 cells apart")
def _(tmp):
    far_apart(tmp, 100_000)
    code, out, err, _ = run(["baseline", "far.vdb", "tc.vdb", "--progress", "none"], tmp)
    if code != 0:
        return code, err, "-"
    code, out, err, _ = run(["eval", "--input", "far.vdb", "--output", "tc.vdb", "--baselines",
                             "nearest", "--report", "rep", "--progress", "none"], tmp)
    return code, err, f"peak RSS {_peak_mb():.0f} MB"


# 6. tracebacks ----------------------------------------------------------------------------

@case("6a", "unreadable input (mode 000, unprivileged)")
def _(tmp):
    p = smoke_file(tmp / "in.vdb")
    p.chmod(0)
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--progress", "none"], tmp,
                            unprivileged)
    return code, err, "no"


@case("6b", "NaN in one velocity component")
def _(tmp):
    v = np.zeros((12, 12, 12, 3), np.float32)
    v[5, 6, 7] = (0.1, np.nan, 0.2)
    smoke_file(tmp / "in.vdb", velocity=v)
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--progress", "none"], tmp)
    return code, err, "no"


@case("6c", "output path is a folder")
def _(tmp):
    smoke_file(tmp / "in.vdb")
    (tmp / "outdir").mkdir()
    code, out, err, _ = run(["convert", "in.vdb", "outdir", "--progress", "none"], tmp)
    return code, err, "no"


@case("6d", "output path is empty")
def _(tmp):
    smoke_file(tmp / "in.vdb")
    code, out, err, _ = run(["convert", "in.vdb", "", "--progress", "none"], tmp)
    return code, err, "no"


@case("6e", "upres --batch 0")
def _(tmp):
    smoke_file(tmp / "in.vdb")
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--batch", "0", "--progress",
                             "none"], tmp)
    return code, err, "-"


@case("6f", "upres --threads -1")
def _(tmp):
    smoke_file(tmp / "in.vdb")
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--threads", "-1", "--progress",
                             "none"], tmp)
    return code, err, "-"


@case("6g", "card field null (normalisation: null)")
def _(tmp):
    smoke_file(tmp / "in.vdb")
    model = card_copy(tmp, lambda c: c.update(normalisation=None))
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--model", model, "--progress",
                             "none"], tmp)
    return code, err, "-"


@case("6h", "card is a JSON list, not an object")
def _(tmp):
    smoke_file(tmp / "in.vdb")
    model = card_copy(tmp, lambda c: None)
    model.with_suffix(".json").write_text("[1, 2]")
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--model", model, "--progress",
                             "none"], tmp)
    return code, err, "-"


@case("6i", "torch weights not a checkpoint (UnpicklingError)")
def _(tmp):
    smoke_file(tmp / "in.vdb")
    model = card_copy(tmp, lambda c: None)
    model.with_suffix(".pt").write_bytes(b"not a pickle at all" * 10)
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--model", model, "--backend",
                             "torch", "--progress", "none"], tmp)
    return code, err, "-"


@case("6j", "torch weights of another width (size mismatch)")
def _(tmp):
    smoke_file(tmp / "in.vdb")
    model = card_copy(tmp, lambda c: c["torch"]["kwargs"].update(width=16))
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--model", model, "--backend",
                             "torch", "--progress", "none"], tmp)
    return code, err, "-"


# 7. kills ---------------------------------------------------------------------------------

@case("7a", "SIGTERM during upres")
def _(tmp):
    for f in range(1, 7):
        smoke_file(tmp / f"x/smoke.{f:04d}.vdb", density=blob(24))
    p = subprocess.Popen([sys.executable, "-m", "billow", "upres", "x/smoke.####.vdb",
                          "out/up.####.vdb", "--progress", "json"], cwd=tmp, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:
        if '"frame"' in line:
            break
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    left = temporaries(tmp / "out")
    return p.returncode, err, f"temporaries left: {left}" if left else "no temporaries left"


@case("7b", "resume after a dead process left .NAME.tmp-PID.vdb")
def _(tmp):
    seq(tmp, 2)
    (tmp / "out").mkdir()
    dead = tmp / "out/.up.0001.vdb.tmp-999999.vdb"
    dead.write_bytes(b"partial")
    os.utime(dead, (time.time() - 3600,) * 2)  # left an hour ago by a process now gone
    live = tmp / f"out/.up.0002.vdb.tmp-{os.getpid()}.vdb"  # a live writer's (this probe)
    live.write_bytes(b"in progress")
    os.utime(live, (time.time() - 3600,) * 2)
    code, out, err, _ = run(["upres", "x/smoke.####.vdb", "out/up.####.vdb", "--skip-existing",
                             "--progress", "none"], tmp)
    return code, err, (("dead writer's temporary kept" if dead.exists() else
                        "dead writer's temporary removed") + ", " +
                       ("live writer's kept" if live.exists() else "LIVE WRITER'S REMOVED"))


# 8. implausible results -------------------------------------------------------------------

@case("8a", "negative density")
def _(tmp):
    smoke_file(tmp / "in.vdb", density=-blob())
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--progress", "none"], tmp)
    silent = code == 0 and "negative" not in err
    return code, err, "yes: empty output, no word" if silent else "no"


@case("8b", "velocity 1e30")
def _(tmp):
    v = np.zeros((12, 12, 12, 3), np.float32)
    v[..., 0] = 1e30
    smoke_file(tmp / "in.vdb", velocity=v)
    code, out, err, _ = run(["upres", "in.vdb", "out.vdb", "--progress", "none"], tmp)
    peak = None
    if code == 0:
        g = openvdb().read(str(tmp / "out.vdb"), "density")
        peak = float(g.evalMinMax()[1])
    return code, err, f"yes: density up to {peak:.3g}" if peak and peak > 10 else "no"


@case("8c", "convert with NaN density")
def _(tmp):
    p = smoke_file(tmp / "in.vdb")
    grids = openvdb().readAll(str(p))[0]
    grids[0].getAccessor().setValueOn((3, 3, 3), float("nan"))  # an active NaN voxel
    openvdb().write(str(p), grids)
    code, out, err, _ = run(["convert", "in.vdb", "out.vdb", "--progress", "none"], tmp)
    if code != 0:
        return code, err, "no"
    value = openvdb().read(str(tmp / "out.vdb"), "density").getAccessor().getValue((3, 3, 3))
    return code, err, "yes: NaN written" if np.isnan(value) else "no"


@case("8d", "retexture, 16-bit RGBA PNG UVs with the mask in alpha")
def _(tmp):
    import cv2

    h = w = 32
    uv = np.zeros((h, w, 4), np.uint16)  # OpenCV order B, G, R, A
    yy, xx = np.mgrid[0:h, 0:w]
    uv[..., 2] = (xx / (w - 1) * 65535).astype(np.uint16)  # R = u
    uv[..., 1] = (yy / (h - 1) * 65535).astype(np.uint16)  # G = v
    uv[..., 0] = 0  # B unused
    uv[8:24, 8:24, 3] = 65535  # alpha = mask
    cv2.imwrite(str(tmp / "uv.0001.png"), uv)
    tex = np.full((16, 16, 3), (0, 0, 255), np.uint8)
    cv2.imwrite(str(tmp / "tex.png"), tex)
    code, out, err, _ = run(["retexture", "--uv", "uv.####.png", "--texture", "tex.png",
                             "--out", "rt.####.png", "--progress", "none"], tmp)
    if code != 0:
        return code, err, "no"
    img = cv2.imread(str(tmp / "rt.0001.png"), cv2.IMREAD_UNCHANGED)
    covered = int((img[..., 3] > 0).sum()) if img.ndim == 3 and img.shape[2] == 4 else -1
    return code, err, "yes: background only, no word" if covered == 0 else f"no ({covered} px)"


def last_line(err: str) -> str:
    rows = [r for r in err.strip().splitlines() if r.strip()]
    # the preview-model note of a run that worked is not its last line; `broken_promise`
    # still counts it where a run failed
    rows = [r for r in rows if not r.startswith("warning: model ")]
    errors = [r for r in rows if ": error:" in r]
    text = errors[-1] if errors else (rows[-1] if rows else "")
    text = text.replace("|", "\\|")
    return text if len(text) < 150 else text[:147] + "..."


def broken_promise(code, err: str) -> bool:
    """An expected failure (exit 2, 3) that prints anything but its one `error:` line. After
    SIGTERM (143) the run had written frames, so the warnings of that work may come first."""
    if code not in (2, 3, 143):
        return False
    rows = [r for r in err.strip().splitlines() if r.strip()]
    if code == 143:
        rows = [r for r in rows if not r.startswith("warning: ")]
    return len(rows) != 1 or ": error: " not in rows[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", default=None)
    a = ap.parse_args()
    wanted = [k for k in a.only.split(",") if k] or list(CASES)
    print("| case | what | exit | stderr lines | last error line | data lost / silently wrong |")
    print("|---|---|---|---|---|---|")
    broken: list[str] = []
    for key in wanted:
        title, fn = CASES[key]
        tmp = Path(tempfile.mkdtemp(prefix=f"probe{key}-", dir=a.keep))
        tmp.chmod(0o755)
        try:
            code, err, lost = fn(tmp)
        except subprocess.TimeoutExpired:
            code, err, lost = "timeout", "", "?"
        nlines = len([r for r in err.strip().splitlines() if r.strip()])
        if broken_promise(code, err):
            broken.append(key)
        print(f"| {key} | {title} | {code} | {nlines} | `{last_line(err)}` | {lost} |",
              flush=True)
        if a.keep is None:
            for p in tmp.rglob("*"):
                try:
                    p.chmod(0o755)
                except OSError:
                    pass
            shutil.rmtree(tmp, ignore_errors=True)
    if broken:  # docs/guarantees.md: one error line and nothing else on stderr
        print(f"\nstderr promise broken (more than the one error line): {', '.join(broken)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
