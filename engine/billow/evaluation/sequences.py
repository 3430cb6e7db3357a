"""Output, input and reference VDB sequences laid over one another for evaluation.

Each sequence is read densely over the union of its density's active bounding boxes. The output
and the reference must sit on the exact upres transform of the input (`billow.upres_matrix`,
same integer factor), cover the same frames, and cover roughly the same region; anything else is
refused with one line naming both sides. Everything is then evaluated on one low-res block and
the f-times finer block over it, so baselines, output and reference line up voxel for voxel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import ReadOptions, list_grids, read_grid, read_smoke_frame, resolve_frames, upres_matrix
from ..io.aliases import resolve
from ..io.sequence import format_frames
from ..io.regions import clip_regions, occupied_regions_of, regions_mode, worth_regions
from ..io.units import rotate_up_axis
from ..io.volume import Volume


@dataclass
class VdbSequence:
    """A density sequence on disk: frames, paths, one transform, the union of active boxes."""

    label: str
    pattern: str
    frames: list[int | None]
    paths: list[Path]
    grid: list[str]
    matrix: np.ndarray  # index-to-world, y-up
    lo: np.ndarray | None  # union box, inclusive, y-up index space (None: all frames empty)
    hi: np.ndarray | None

    def describe(self) -> str:
        return f"{self.label} {self.pattern}"


def _rotated_point(ijk, matrix, up_axis: str):
    vol = Volume("p", np.zeros((1, 1, 1), np.float32), tuple(int(v) for v in ijk), matrix)
    out = rotate_up_axis(vol, up_axis)
    return np.array(out.offset), out.matrix


def open_sequence(label: str, pattern: str, frames: str | None,
                  options: ReadOptions) -> VdbSequence:
    """Find the frames and read every frame's density header (no voxels)."""
    pairs = resolve_frames(pattern, frames)
    lo = hi = None
    matrix = None
    names = []
    for frame, path in pairs:
        infos = list_grids(path)
        ref = resolve(infos, "density", options.density_grid, source=str(path), required=True)
        info = next(i for i in infos if i.name == ref.names[0])
        if info.is_vector:
            raise InputError(f"{path}: density grid '{info.name}' is a vector grid")
        if matrix is None:
            matrix, first = info.matrix, path
        elif not np.allclose(info.matrix, matrix, rtol=1e-6, atol=1e-9 * np.abs(matrix).max()):
            raise InputError(f"{label} {path}: density transform differs from {first} "
                             f"(voxel size {np.round(info.voxel_size, 6)} vs "
                             f"{np.round(np.linalg.norm(matrix[:3, :3], axis=1), 6)}); "
                             "a sequence must keep one grid")
        names.append(info.name)
        if info.bbox is not None:
            a, b = np.array(info.bbox[0]), np.array(info.bbox[1])
            lo = a if lo is None else np.minimum(lo, a)
            hi = b if hi is None else np.maximum(hi, b)
    if options.up_axis != "y":
        m0 = matrix
        if lo is not None:
            pa, matrix = _rotated_point(lo, m0, options.up_axis)
            pb, _ = _rotated_point(hi, m0, options.up_axis)
            lo, hi = np.minimum(pa, pb), np.maximum(pa, pb)
        else:
            _, matrix = _rotated_point((0, 0, 0), m0, options.up_axis)
    return VdbSequence(label, str(pattern), [f for f, _ in pairs], [p for _, p in pairs],
                       names, matrix, lo, hi)


@dataclass
class Layout:
    """The common blocks: low-res `lo`..`lo + shape - 1`, high-res `factor` times finer."""

    factor: int
    lr_lo: np.ndarray
    lr_shape: tuple[int, ...]
    lr_matrix: np.ndarray
    frames: list[int | None]

    @property
    def hr_lo(self) -> np.ndarray:
        return self.lr_lo * self.factor

    @property
    def hr_shape(self) -> tuple[int, ...]:
        return tuple(n * self.factor for n in self.lr_shape)

    @property
    def hr_matrix(self) -> np.ndarray:
        return upres_matrix(self.lr_matrix, self.factor)


def _factor(hr: VdbSequence, lr: VdbSequence, scale: int | None) -> int:
    ratio = np.linalg.norm(lr.matrix[:3, :3], axis=1) / np.linalg.norm(hr.matrix[:3, :3], axis=1)
    f = int(round(float(ratio.mean())))
    if f < 1 or not np.allclose(ratio, f, rtol=1e-4):
        raise InputError(f"{hr.describe()} (voxel size {_vs(hr)}) is not an integer upres of "
                         f"{lr.describe()} (voxel size {_vs(lr)}): ratio {np.round(ratio, 4)}")
    if scale is not None and f != scale:
        raise InputError(f"{hr.describe()} is a {f}x upres of {lr.describe()}, not {scale}x "
                         f"(voxel sizes {_vs(hr)} and {_vs(lr)})")
    expected = upres_matrix(lr.matrix, f)
    tol = 1e-4 * float(np.linalg.norm(hr.matrix[:3, :3], axis=1).min())
    if not np.allclose(hr.matrix, expected, rtol=0, atol=tol):
        shift = (hr.matrix[3, :3] - expected[3, :3]) @ np.linalg.inv(expected[:3, :3])
        raise InputError(
            f"{hr.describe()} does not overlay {lr.describe()}: at {f}x its origin is off by "
            f"{np.round(shift, 3)} of its voxels (expected the exact upres transform, "
            "billow.upres_matrix: output voxel o at input index (o + 1/2)/f - 1/2)")
    return f


def _vs(seq: VdbSequence):
    return np.round(np.linalg.norm(seq.matrix[:3, :3], axis=1), 6).tolist()


def _same_frames(a: VdbSequence, b: VdbSequence) -> None:
    if a.frames != b.frames:
        fa = format_frames([f for f in a.frames if f is not None]) or "a single file"
        fb = format_frames([f for f in b.frames if f is not None]) or "a single file"
        raise InputError(f"{a.describe()} has frames {fa} but {b.describe()} has frames {fb}; "
                         "evaluate matching ranges (use --frames)")


def layout(inputs: VdbSequence, outputs: list[VdbSequence], scale: int | None = None) -> Layout:
    """Check that every high-res sequence overlays `inputs` and return the common blocks."""
    if not outputs:
        if scale is None:
            raise InputError("no output or reference to compare: give --output, --reference "
                             "or --baselines with --scale")
        factor = scale
    else:
        factors = {s.label: _factor(s, inputs, scale) for s in outputs}
        factor = factors[outputs[0].label]
        for s in outputs[1:]:
            if factors[s.label] != factor:
                raise InputError(f"{s.describe()} is a {factors[s.label]}x upres of the input "
                                 f"but {outputs[0].describe()} is {factor}x")
    for s in outputs:
        _same_frames(s, inputs)
    if inputs.lo is None and all(s.lo is None for s in outputs):
        raise InputError(f"{inputs.describe()}: every frame is empty (no active density)")
    lo, hi = inputs.lo, inputs.hi
    base_lo, base_hi = (lo, hi) if lo is not None else (None, None)
    for s in outputs:
        if s.lo is None:
            continue
        a, b = np.floor_divide(s.lo, factor), np.floor_divide(s.hi, factor)
        if base_lo is not None:
            extent = base_hi - base_lo + 1
            margin = np.maximum(4, extent // 4)
            if np.any(a < base_lo - margin) or np.any(b > base_hi + margin):
                raise InputError(
                    f"{s.describe()}: its active region (high-res index {s.lo.tolist()}.."
                    f"{s.hi.tolist()}) reaches far outside {inputs.describe()} (low-res index "
                    f"{base_lo.tolist()}..{base_hi.tolist()}, i.e. {(base_lo * factor).tolist()}.."
                    f"{((base_hi + 1) * factor - 1).tolist()} at {factor}x): the resolutions do "
                    "not match")
        lo = a if lo is None else np.minimum(lo, a)
        hi = b if hi is None else np.maximum(hi, b)
    return Layout(factor, lo.astype(int), tuple(int(v) for v in hi - lo + 1), inputs.matrix,
                  list(inputs.frames))


def _paste(vol: Volume, lo: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A volume's block cut/padded to the box (lo, shape); vectors come back as [3, x, y, z]."""
    out = np.zeros(shape + vol.data.shape[3:], np.float32)
    if vol.data.size:
        src_lo = np.array(vol.offset) - lo
        a = np.maximum(src_lo, 0)
        b = np.minimum(src_lo + np.array(vol.shape), shape)
        if np.all(b > a):
            sa, sb = a - src_lo, b - src_lo
            out[a[0]:b[0], a[1]:b[1], a[2]:b[2]] = vol.data[sa[0]:sb[0], sa[1]:sb[1], sa[2]:sb[2]]
    return np.moveaxis(out, -1, 0) if vol.is_vector else out


# low-res cells around a region: the baselines' reach (tricubic-bp 5, tricubic 2), the blurs,
# advection
REGION_PAD = 6


def eval_regions(inputs: VdbSequence, others: list[VdbSequence], lay: Layout,
                 options: ReadOptions) -> list[tuple[np.ndarray, tuple[int, ...]]] | None:
    """The low-res windows (lo, shape) to evaluate a sparse sequence over, one per occupied
    region of the input and the high-res sequences over all frames (one region set for the
    whole sequence, so frame pairs line up), cut to the common block; None to read the block
    whole. Regions when `BILLOW_REGIONS=always`, or (auto) when the block is large and
    sparse (`billow.io.regions.worth_regions`); y-up caches only (a z-up cache over the dense
    limit is refused in one line when read as one block)."""
    mode = regions_mode()
    if mode == "never" or options.up_axis != "y":
        return None
    f = lay.factor
    if mode == "auto":
        active = 0.0
        for t in range(len(lay.frames)):
            n = 0.0
            for seq, weight in [(inputs, f ** 3)] + [(s, 1) for s in others]:
                info = {i.name: i for i in list_grids(seq.paths[t])}[seq.grid[t]]
                n += info.active_voxels * weight
            active = max(active, n)
        if not worth_regions(float(np.prod(np.array(lay.hr_shape, float))), active):
            return None
    grids = [(p, g, 1) for p, g in zip(inputs.paths, inputs.grid)]
    grids += [(p, g, f) for s in others for p, g in zip(s.paths, s.grid)]
    hi = lay.lr_lo + np.array(lay.lr_shape) - 1
    boxes = clip_regions(occupied_regions_of(grids, REGION_PAD), lay.lr_lo, hi)
    return [(np.array(a), tuple(int(y - x + 1) for x, y in zip(a, b))) for a, b in boxes]


def read_density(seq: VdbSequence, index: int, lo, shape, options: ReadOptions, *,
                 window: bool = False) -> np.ndarray:
    """Frame `index` of `seq` as a dense float32 block over (lo, shape). `window`: read only
    that box (a region of a sparse cache; y-up), not the grid's whole active box."""
    box = (tuple(int(v) for v in lo), tuple(int(a + n - 1) for a, n in zip(lo, shape)))
    vol = read_grid(seq.paths[index], seq.grid[index], bbox=box if window else None)
    if options.up_axis != "y":
        vol = rotate_up_axis(vol, options.up_axis)
    return _paste(vol.with_data(vol.data.astype(np.float32, copy=False)), np.asarray(lo), shape)


def read_density_velocity(seq: VdbSequence, index: int, lo, shape, options: ReadOptions,
                          *, window: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Density [x, y, z] and velocity [3, x, y, z] (cells per frame of this grid) over the box;
    velocity None if the frame has none and `options.require_velocity` is off.

    `read_smoke_frame` reads velocity over the density's active box; it is padded so that the
    box covers the whole evaluation block (advection needs velocity where smoke arrives)."""
    lo = np.asarray(lo)
    if window:  # a region of a sparse cache: that box only, velocity included
        box = (tuple(int(v) for v in lo), tuple(int(a + n - 1) for a, n in zip(lo, shape)))
        frame = read_smoke_frame(seq.paths[index], replace(options, pad=0), window=box)
        vel = None if frame.velocity is None else _paste(frame.velocity, lo, shape)
        return _paste(frame.density, lo, shape), vel
    pad = 0
    if seq.lo is not None:
        info_lo, info_hi = _frame_box(seq, index, options)
        if info_lo is not None:
            pad = int(max(0, np.max(info_lo - lo), np.max(lo + np.array(shape) - 1 - info_hi)))
    frame = read_smoke_frame(seq.paths[index], replace(options, pad=pad))
    vel = None if frame.velocity is None else _paste(frame.velocity, lo, shape)
    return _paste(frame.density, lo, shape), vel


def _frame_box(seq: VdbSequence, index: int, options: ReadOptions):
    infos = {i.name: i for i in list_grids(seq.paths[index])}
    info = infos[seq.grid[index]]
    if info.bbox is None:
        return None, None
    a, b = np.array(info.bbox[0]), np.array(info.bbox[1])
    if options.up_axis != "y":
        pa, _ = _rotated_point(a, info.matrix, options.up_axis)
        pb, _ = _rotated_point(b, info.matrix, options.up_axis)
        a, b = np.minimum(pa, pb), np.maximum(pa, pb)
    return a, b
