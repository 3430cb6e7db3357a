"""Re-texturing speed (`billow retexture`, issue 10 item 6): 1920x1080 frames per second on this
2-core CPU (target: at least 60), kernel alone and end to end with PNG I/O, as ratios against
the torch reference run in the same process; and the floating-point operations per output pixel
next to DwNet's 57.5 M (dissertation Fig. 5.9).

    python benchmarks/bench_retexture.py                 # kernel + end to end (a few minutes)
    python benchmarks/bench_retexture.py --no-e2e        # kernel only
    python benchmarks/bench_retexture.py --size 960x540 --frames 8
    python benchmarks/bench_retexture.py --fast-path --frames 24 --jobs 2   # before/after
    python benchmarks/bench_retexture.py --stages    # one frame's stages, fast path vs PNG

The frame is a figure (an ellipse covering about 40% of the frame, UVs a smooth warp of a
1200x800 RGBA8 atlas, DensePose's size) over a background plate; "full" covers every pixel (the
worst case: the kernel skips pixels outside the mask). The plate is smooth shading plus grain,
so PNG costs what it costs on footage. Wall seconds depend on what else runs on
the machine, so the load average is printed, with the best and median of the repeats and the
process CPU seconds per frame; `2 / cpu` is the rate two free cores would give.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

DWNET_FLOPS = 57.5e6  # per output pixel (Fig. 5.9)
PAPER_FLOPS = 5  # the dissertation's count for its own lookup


def scene(h: int, w: int, coverage: str, seed: int = 0):
    """(texture RGBA8 [1200, 800, 4], uv float32 [h, w, 2], mask bool, plate uint8 [h, w, 3])."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    # a smooth, slightly swirled map of the frame into the atlas (coherent texel access)
    u = 0.05 + 0.9 * xs / w + 0.02 * np.sin(ys / h * 6.0)
    v = 0.95 - 0.9 * ys / h + 0.02 * np.cos(xs / w * 5.0)
    uv = np.stack([u, v], -1).astype(np.float32)
    if coverage == "full":
        mask = np.ones((h, w), bool)
    else:
        mask = ((xs - w / 2) / (0.3 * w)) ** 2 + ((ys - h / 2) / (0.45 * h)) ** 2 < 1.0
    uv[~mask] = 0.0
    tex = rng.integers(0, 256, (1200, 800, 4), dtype=np.uint8)
    tex[..., 3] = 255
    # footage-like plate: smooth shading plus camera grain (PNG compresses it as it would film)
    shade = np.dstack([128 + 60 * np.sin(xs / 200), 100 + 50 * np.cos(ys / 150),
                       90 + 40 * np.sin((xs + ys) / 300)])
    plate = np.clip(shade + rng.normal(0.0, 3.0, shade.shape), 0, 255).astype(np.uint8)
    return tex, uv, mask, plate


def timed(fn, repeats: int) -> dict:
    fn()  # warm-up (first-touch of the output, thread pool start)
    walls, cpu0 = [], time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / repeats
    return {"best": min(walls), "median": float(np.median(walls)), "cpu": cpu}


def fmt(t: dict) -> str:
    return (f"best {1 / t['best']:7.1f} fps  median {1 / t['median']:7.1f} fps  "
            f"cpu {t['cpu'] * 1e3:6.1f} ms/frame (2 free cores: {2 / t['cpu']:6.1f} fps)")


def bench_kernel(h: int, w: int, repeats: int, torch_repeats: int) -> None:
    import torch
    from billow._native import kernels

    torch.set_num_threads(2)
    print(f"\n== kernel alone, {w}x{h}, frames in memory, uint8 texture/plate/output "
          f"(OpenMP threads: {kernels().openmp_threads()})")
    for coverage in ("figure", "full"):
        bench_coverage(h, w, coverage, repeats, torch_repeats)


def bench_coverage(h: int, w: int, coverage: str, repeats: int, torch_repeats: int) -> None:
    from billow.uv.lookup import retexture

    tex, uv, mask, plate = scene(h, w, coverage)
    uv16 = np.rint(uv * 65535).astype(np.uint16)
    print(f"-- {coverage}: mask covers {mask.mean():.0%} of the pixels")
    ref = timed(lambda: retexture(tex, uv, mask, plate, backend="torch"), torch_repeats)
    print(f"  torch reference        {fmt(ref)}")
    out3 = np.empty((h, w, 3), np.uint8)
    out4 = np.empty((h, w, 4), np.uint8)
    runs = {"native, plate, uv f32": lambda: retexture(tex, uv, mask, plate, out=out3),
            "native, plate, uv u16": lambda: retexture(tex, uv16, mask, plate, out=out3),
            "native, RGBA,  uv f32": lambda: retexture(tex, uv, mask, out=out4)}
    for name, fn in runs.items():
        t = timed(fn, repeats)
        print(f"  {name}  {fmt(t)}  x{ref['best'] / t['best']:.0f} vs torch (best)")
    try:
        import cv2
    except ImportError:
        return
    cv2.setNumThreads(2)
    mx = uv[..., 0] * 800 - 0.5
    my = (1 - uv[..., 1]) * 1200 - 0.5
    t = timed(lambda: cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
              repeats)
    print(f"  (OpenCV remap, lookup only, no mask/composite: {fmt(t)})")


def bench_e2e(h: int, w: int, frames: int, jobs: list[int]) -> None:
    import cv2
    from billow.cli import main
    from billow.uv.retexture import read_plate, read_texture
    from billow.uv import io as uvio
    from billow.uv.lookup import retexture

    print(f"\n== end to end, {w}x{h}, {frames} frames: read 16-bit UV PNG + plate PNG, lookup, "
          "write 8-bit PNG (atomic)")
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        tex, uv, mask, plate = scene(h, w, "figure")
        cv2.imwrite(str(root / "tex.png"), tex)
        uvio.write_uv(root / "uv" / "f.0001.png", uv, mask)
        cv2.imwrite(str(root / "bg.0001.png"), plate)
        for f in range(2, frames + 1):  # the same bytes: decoding cost is what matters
            os.link(root / "uv" / "f.0001.png", root / "uv" / f"f.{f:04d}.png")
            os.link(root / "bg.0001.png", root / f"bg.{f:04d}.png")
        # one frame's stages, one thread
        texture = read_texture(root / "tex.png")
        stages = {
            "read UV (billow.uv.io.read_uv)": lambda: uvio.read_uv(root / "uv" / "f.0001.png"),
            "read plate": lambda: read_plate(root / "bg.0001.png"),
            "lookup (native)": lambda: retexture(texture, uv, mask, plate),
            "write PNG": lambda: cv2.imwrite(str(root / "x.png"), plate),
        }
        total = 0.0
        for name, fn in stages.items():
            t = timed(fn, 3)
            total += t["best"]
            print(f"  {name:32s} {t['best'] * 1e3:7.1f} ms (best of 3)")
        print(f"  {'sum (one frame at a time)':32s} {total * 1e3:7.1f} ms -> {1 / total:.1f} fps")
        ref = None
        for backend, n in [("torch", jobs[-1])] + [("native", n) for n in jobs]:
            args = ["retexture", "--uv", str(root / "uv/f.####.png"), "--texture",
                    str(root / "tex.png"), "--background", str(root / "bg.####.png"),
                    "--out", str(root / "out/o.####.png"), "--jobs", str(n),
                    "--backend", backend, "--progress", "none"]
            t0, c0 = time.perf_counter(), time.process_time()
            assert main(args) == 0
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            ref = ref or wall
            print(f"  billow retexture --backend {backend:6s} --jobs {n}: "
                  f"{frames / wall:6.1f} fps wall (x{ref / wall:.1f} vs torch), cpu "
                  f"{cpu / frames * 1e3:6.1f} ms/frame (2 free cores: {2 * frames / cpu:5.1f} fps)")


def _before_frame(texture, src: Path, plate: Path, dst: Path) -> None:
    """The end-to-end path before the fast path (issue 20), kept here as the reference: float
    UVs (convert, clip, range check, reorder channels), default PNG compression."""
    import cv2
    from billow.uv.retexture import read_plate
    from billow.io.atomic import atomic_path
    from billow.uv import io as uvio
    from billow.uv.lookup import retexture

    uv, mask = uvio.read_uv(src)
    out = retexture(texture, uv, mask, read_plate(plate))
    with atomic_path(dst) as tmp:
        cv2.imwrite(str(tmp), out)


def _tiff_before_frame(texture, src: Path, plate: Path, dst: Path) -> None:
    """The TIFF fast path as it was before this round of issue 20 (7.5 fps), kept as the
    reference: u16 UVs split out of the decoded image with numpy, cv2.imwrite to the file."""
    import cv2
    from billow.uv.retexture import read_plate
    from billow.io.atomic import atomic_path
    from billow.uv.lookup import retexture

    raw = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    uv = np.empty(raw.shape[:2] + (2,), np.uint16)
    uv[..., 0] = raw[..., 2]
    uv[..., 1] = raw[..., 1]
    mask = raw[..., 0] > 65535 / 2
    out = retexture(texture, uv, mask, read_plate(plate))
    with atomic_path(dst) as tmp:
        cv2.imwrite(str(tmp), out, [cv2.IMWRITE_TIFF_COMPRESSION, 1])


def bench_fast_path(h: int, w: int, frames: int, jobs: int, rounds: int) -> None:
    """Before/after of the end-to-end fast path in this process, rounds interleaved A/B."""
    from concurrent.futures import ThreadPoolExecutor

    import cv2
    from billow.cli import main
    from billow.uv.retexture import read_texture
    from billow.uv import io as uvio

    print(f"\n== end to end fast path, {w}x{h}, {frames} frames, --jobs {jobs}, "
          f"{rounds} interleaved rounds (fps wall; ratios to 'before' in the same round)")
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        tex, uv, mask, plate = scene(h, w, "figure")
        cv2.imwrite(str(root / "tex.png"), tex)
        uvio.write_uv(root / "uv" / "f.0001.png", uv, mask)
        cv2.imwrite(str(root / "bg.0001.png"), plate)
        u16 = cv2.imread(str(root / "uv" / "f.0001.png"), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(root / "uv" / "t.0001.tif"), u16, [cv2.IMWRITE_TIFF_COMPRESSION, 1])
        cv2.imwrite(str(root / "bg.0001.tif"), plate, [cv2.IMWRITE_TIFF_COMPRESSION, 1])
        for f in range(2, frames + 1):
            for a, b in (("uv/f", "png"), ("bg", "png"), ("uv/t", "tif"), ("bg", "tif")):
                os.link(root / f"{a}.0001.{b}", root / f"{a}.{f:04d}.{b}")
        texture = read_texture(root / "tex.png")

        def reference(frame_fn, uv, bg, out):
            def go():
                with ThreadPoolExecutor(max_workers=jobs) as pool:
                    list(pool.map(lambda f: frame_fn(
                        texture, root / uv.replace("####", f"{f:04d}"),
                        root / bg.replace("####", f"{f:04d}"),
                        root / out.replace("####", f"{f:04d}")), range(1, frames + 1)))
            return go

        before = reference(_before_frame, "uv/f.####.png", "bg.####.png", "before/o.####.png")

        def cli(uv, bg, out, *extra):
            return lambda: main(["retexture", "--uv", str(root / uv), "--texture",
                                 str(root / "tex.png"), "--background", str(root / bg),
                                 "--out", str(root / out), "--jobs", str(jobs),
                                 "--progress", "none", *extra])

        runs = {"before: f32 UVs, PNG out (default)": before,
                "after:  u16 UVs, PNG out (default)": cli("uv/f.####.png", "bg.####.png",
                                                          "a/o.####.png"),
                "TIFF as of the last round (7.5 fps)": reference(
                    _tiff_before_frame, "uv/t.####.tif", "bg.####.tif", "b/o.####.tif"),
                "after:  TIFF in, TIFF out (no PNG)": cli("uv/t.####.tif", "bg.####.tif",
                                                          "c/o.####.tif")}
        fps: dict[str, list[float]] = {k: [] for k in runs}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        for fn in runs.values():
            fn()  # warm-up: imports, parser, thread pools, first touch
        for _ in range(rounds):
            for name, fn in runs.items():
                t0, c0 = time.perf_counter(), time.process_time()
                fn()
                fps[name].append(frames / (time.perf_counter() - t0))
                cpu[name].append((time.process_time() - c0) / frames)
        base = fps["before: f32 UVs, PNG out (default)"]
        for name, v in fps.items():
            ratio = np.median([a / b for a, b in zip(v, base)])
            c = min(cpu[name])
            print(f"  {name:36s} median {np.median(v):6.1f} fps  best {max(v):6.1f} fps  "
                  f"x{ratio:.2f} vs before; cpu {c * 1e3:5.1f} ms/frame (1 free core "
                  f"{1 / c:5.1f} fps, 2: {2 / c:5.1f} fps)")
        print("  PNG floor (one frame, one thread): the decode of a 16-bit UV PNG + an 8-bit "
              "plate PNG + the fastest encode (OpenCV's default), below")
        stages = {"decode UV PNG (u16)": lambda: cv2.imread(str(root / "uv/f.0001.png"),
                                                            cv2.IMREAD_UNCHANGED),
                  "decode plate PNG": lambda: cv2.imread(str(root / "bg.0001.png")),
                  "encode PNG (OpenCV default)": lambda: cv2.imencode(".png", plate),
                  "encode PNG level 0": lambda: cv2.imencode(".png", plate,
                                                             [cv2.IMWRITE_PNG_COMPRESSION, 0])}
        best = {k: timed(f, 3)["best"] for k, f in stages.items()}
        for k, v in best.items():
            print(f"  {k:32s} {v * 1e3:7.1f} ms")
        floor = (best["decode UV PNG (u16)"] + best["decode plate PNG"]
                 + min(best["encode PNG (OpenCV default)"], best["encode PNG level 0"]))
        print(f"  PNG floor: {floor * 1e3:.1f} ms of CPU per frame -> at most {1 / floor:.1f} fps "
              f"per free core ({2 / floor:.1f} fps on 2 free cores) before any lookup")


def bench_stages(h: int, w: int) -> None:
    """One frame, one thread, stage by stage: what each costs on the fast path (TIFF) and with
    PNG, as CPU milliseconds (wall is printed too; it depends on the machine's load)."""
    import cv2
    from billow.uv import io as uvio
    from billow.uv.lookup import retexture
    from billow.uv.retexture import RetextureOptions, _Frame, read_plate, read_texture

    cv2.setNumThreads(1)
    print(f"\n== one {w}x{h} frame stage by stage (best of 5; cpu = process CPU time)")
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        tex, uv, mask, plate = scene(h, w, "figure")
        cv2.imwrite(str(root / "tex.png"), tex)
        uvio.write_uv(root / "uv.png", uv, mask)
        raw = cv2.imread(str(root / "uv.png"), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(root / "uv.tif"), raw, [cv2.IMWRITE_TIFF_COMPRESSION, 1])
        cv2.imwrite(str(root / "bg.tif"), plate, [cv2.IMWRITE_TIFF_COMPRESSION, 1])
        cv2.imwrite(str(root / "bg.png"), plate)
        texture = read_texture(root / "tex.png")
        uv16, m16 = uvio.read_uv(root / "uv.tif", keep_u16=True)
        bg = read_plate(root / "bg.tif")
        out = retexture(texture, uv16, m16, bg)
        frame = _Frame(RetextureOptions(), texture, None)
        stages = {
            "decode UV TIFF (u16)": lambda: cv2.imread(str(root / "uv.tif"), -1),
            "decode + u16 split (read_uv)": lambda: uvio.read_uv(root / "uv.tif", True),
            "  (decode + float UVs, as before)": lambda: uvio.read_uv(root / "uv.tif"),
            "decode plate TIFF": lambda: read_plate(root / "bg.tif"),
            "lookup + composite (native)": lambda: retexture(texture, uv16, m16, bg, out=out),
            "encode + write TIFF": lambda: frame._write(root / "o.tif", out),
            "whole frame, TIFF -> TIFF": lambda: frame(root / "uv.tif", root / "bg.tif",
                                                       root / "f.tif"),
            "decode UV PNG (u16)": lambda: cv2.imread(str(root / "uv.png"), -1),
            "decode plate PNG": lambda: read_plate(root / "bg.png"),
            "encode + write PNG": lambda: frame._write(root / "o.png", out),
            "whole frame, PNG -> PNG": lambda: frame(root / "uv.png", root / "bg.png",
                                                     root / "f.png"),
        }
        for name, fn in stages.items():
            t = timed(fn, 5)
            print(f"  {name:34s} cpu {t['cpu'] * 1e3:6.1f} ms   wall {t['best'] * 1e3:6.1f} ms")


def flops() -> None:
    from billow.uv.lookup import FLOPS_PER_PIXEL

    total = sum(FLOPS_PER_PIXEL.values())
    print("\n== floating-point operations per output pixel (counted from the kernel)")
    for k, v in FLOPS_PER_PIXEL.items():
        print(f"  {k:36s} {v:3d}")
    print(f"  {'total':36s} {total:3d}   DwNet: {DWNET_FLOPS / 1e6:.1f} M "
          f"(x{DWNET_FLOPS / total:,.0f} ours); the dissertation counts {PAPER_FLOPS} for its "
          "lookup")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1920x1080", help="W x H (default: 1920x1080)")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--torch-repeats", type=int, default=3)
    ap.add_argument("--frames", type=int, default=24, help="end-to-end frames (default: 24)")
    ap.add_argument("--jobs", default="1,2,3", help="end-to-end --jobs values (default: 1,2,3)")
    ap.add_argument("--no-e2e", dest="e2e", action="store_false")
    ap.add_argument("--fast-path", action="store_true",
                    help="only the end-to-end before/after of the fast path (issue 20)")
    ap.add_argument("--stages", action="store_true",
                    help="only one frame's stages (decode, UV handling, lookup, encode)")
    ap.add_argument("--rounds", type=int, default=3, help="fast-path rounds (default: 3)")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.lower().split("x"))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} CPUs")
    if args.stages:
        bench_stages(h, w)
        print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    if args.fast_path:
        bench_fast_path(h, w, args.frames, int(args.jobs.split(",")[-1]), args.rounds)
        print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    flops()
    bench_kernel(h, w, args.repeats, args.torch_repeats)
    if args.e2e:
        bench_e2e(h, w, args.frames, [int(j) for j in args.jobs.split(",")])
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
