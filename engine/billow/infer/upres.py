"""The main job: upres one smoke frame, tile by tile, into sparse output grids.

A frame is read y-up with velocity in low-res cells per frame (`billow.io.read_smoke_frame`);
art direction scales the detail (`art.network_velocity`); the network runs on seam-free tiles
over the active bounding box only; each output core is pasted straight into a sparse OpenVDB
grid, so the high-res volume is never held densely (8x/16x included: their second pass
streams, group by group of tiles, from the first pass's cores); the result is turned back to
the cache's up axis and placed with the exact upres transform.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from .._version import __version__
from ..errors import InputError
from ..io import GridBuilder, SmokeFrame, Volume, upres_matrix
from ..io.transform import up_axis_rotation
from ..io.units import from_cells_per_frame, rotate_up_axis
from ..ops import downsample, downsample_region, upsample
from ..ops.downsample import blur_radius
from ..ops.normalise import frame_scales
from ..ops.tiling import Tile, core_of, halo_window, occupied_tiles, plan_tiles, run_tiles
from .art import ShapeMask, network_velocity, velocity_scale_field
from .backends import has_core_pass, tile_runner, work_per_voxel
from ..io.model_card import ModelCard
from .config import UpresConfig


def passes(scale: int, model_scale: int) -> list[int]:
    """Per-pass factors of the input of each pass: 8x with a 4x model is 4x, then the output
    downsampled 2x and upres'd 4x again (Fig. 3.17); 16x is 4x twice."""
    if scale == model_scale:
        return [1]
    if scale == 2 * model_scale:
        return [1, 2]
    if scale == model_scale * model_scale:
        return [1, model_scale]
    raise InputError(f"--scale {scale} is not reachable with a x{model_scale} model "
                     f"(use {model_scale}, {2 * model_scale} or {model_scale ** 2})")


# Working memory of the shipped generator (smooth, 3D) per output voxel, fitted to the peak
# resident set over tiles of 8-48 cells by `python benchmarks/tile_memory.py` (ONNX Runtime,
# fp32, 1 thread; issue 20): the core-only runner 207.7 B per CORE output voxel (`--path
# core`), the padded runner 128.1 B per PADDED output voxel (`--path padded`; the 36 B measured
# on the earlier fast generator was 3.5x too low for this one), each with a small margin for
# the arena's growth; plus the engine's own copies of each kept core (scaled, clamped:
# 2 x 4 B). Used when a model card does not state `bytes_per_output_voxel`.
MEASURED_BYTES_PER_CORE_VOXEL = 216.0
MEASURED_BYTES_PER_OUTPUT_VOXEL = 132.0
CORE_BYTES_PER_OUTPUT_VOXEL = 8.0
# a tile whose multiply-adds per kept voxel exceed this many times an unbounded tile's is
# "halo-dominated": the run says so (`tile_note`)
HALO_DOMINATED = 2.0


def tile_memory_bytes(card: ModelCard, tile: int, batch: int, core: bool | None = None
                      ) -> float:
    """Estimated working bytes of one network call on `batch` tiles of `tile` core cells, run
    core-only (`core`, default: whether the card's architecture has a core-only pass) or
    padded. A card that states `bytes_per_output_voxel` (per padded output voxel) is believed
    and costed as padded."""
    core = has_core_pass(card) if core is None else core
    kept = batch * (tile * card.scale) ** card.dim
    if "bytes_per_output_voxel" in card.extra:
        per_voxel, core = card.bytes_per_output_voxel, False
    else:
        per_voxel = MEASURED_BYTES_PER_CORE_VOXEL if core else MEASURED_BYTES_PER_OUTPUT_VOXEL
    computed = kept if core else batch * ((tile + 2 * card.halo) * card.scale) ** card.dim
    return computed * per_voxel + kept * CORE_BYTES_PER_OUTPUT_VOXEL


def tile_for_memory(card: ModelCard, gigabytes: float, batch: int) -> int:
    """Largest tile (multiple of 8, at least 8, at most 256) whose batch fits the memory budget.

    Larger is always better here: every tile pays for its halo (core-only: the low-res trunk
    runs on the core plus up to `halo` cells; padded: the whole network does), so the work per
    kept voxel falls with the tile (`tile_note`), and `plan_tiles` splits a box into the fewest
    even tiles of at most this size. The estimate is the card's `bytes_per_output_voxel` when
    it states one, else the measured model above."""
    budget = gigabytes * 2**30
    core = None if "bytes_per_output_voxel" in card.extra else has_core_pass(card)
    tile = 8
    while tile + 8 <= 256 and tile_memory_bytes(card, tile + 8, batch, core) <= budget:
        tile += 8
    return tile


def tile_work(card: ModelCard, tile: int) -> tuple[float, float] | None:
    """(multiply-adds per kept output voxel with `tile`-cell tiles, the same relative to an
    unbounded tile) for the path upres takes with this card; None without a torch
    architecture to count."""
    core = has_core_pass(card)
    work = work_per_voxel(card, tile, core)
    if work is None:
        return None
    # 1024 cells: the halo's share is below 3% there, as good as unbounded
    return work, work / work_per_voxel(card, 1024, core)


def tile_note(card: ModelCard, tile: int, gigabytes: float | None) -> str | None:
    """A warning when `tile` makes every tile mostly halo work, else None."""
    work = tile_work(card, tile)
    if work is None or work[1] <= HALO_DOMINATED:
        return None
    why = (f"--max-memory {gigabytes:g} allows only {tile}-cell tiles" if gigabytes else
           f"--tile {tile} is small")
    return (f"{why}: each tile computes {work[1]:.1f}x the multiply-adds per output voxel of a "
            "large tile (its halo); a larger --max-memory or --tile runs faster")


def _inputs(density: np.ndarray, velocity: np.ndarray | None, card: ModelCard,
            scales: tuple[float, float]) -> np.ndarray:
    """The network input `(C, *S)`; `scales` (s_d, s_v) divide density and velocity (whole-frame
    normalisation, (1, 1) for models without it). `velocity` is `art.network_velocity`'s:
    cells per frame, then the slider factor for a model that takes it."""
    channels = []
    for name in card.inputs:
        if name == "density":
            channels.append(density * (card.density_norm / scales[0]))
        elif name.startswith("vel."):
            channels.append(velocity[..., "xyz".index(name[-1])]
                            * (card.velocity_norm / scales[1]))
        elif name == "detail":  # the slider factor, a plain number (`art.network_velocity`)
            channels.append(velocity[..., card.dim])
        else:
            raise InputError(f"model input '{name}' is not supported by this engine yet")
    return np.stack(channels).astype(np.float32)


def _tricubic_core(density: np.ndarray, t: Tile, scale: int) -> np.ndarray:
    """Tricubic upsample of one tile's core from its zero-padded neighbourhood (2 cells are
    all the cubic needs), so tiled equals whole-volume here too."""
    h = 2
    up = upsample(torch.from_numpy(halo_window(density, t, h))[None, None], scale,
                  "tricubic")[0, 0].numpy()
    return core_of(up, t, h, scale)


def _one_pass(density, velocity, run, card: ModelCard, cfg: UpresConfig, tile: int,
              scales: tuple[float, float], tiles: list[Tile] | None = None):
    """Yield (tile, high-res core) for one application of the network; `tiles` (default: all
    of `density` in `tile`-cell cores) are the cores to compute."""
    tiles = plan_tiles(density.shape, tile) if tiles is None else tiles
    if cfg.sparse:
        tiles = occupied_tiles(tiles, density > 0, card.halo)
    # only each tile's core is computed where the network has a core-only pass (issue 20)
    outputs = run_tiles(_inputs(density, velocity, card, scales),
                        tile_runner(run, card.halo, card.scale), scale=card.scale,
                        halo=card.halo, tiles=tiles, batch=cfg.batch, cropped=True)
    for t, out in outputs:
        core = out[0] * (card.output_scale * scales[0])
        if cfg.detail_blend > 0:
            core = ((1 - cfg.detail_blend) * core
                    + cfg.detail_blend * _tricubic_core(density, t, card.scale))
        yield t, np.maximum(core, 0.0)


def input_scales(density: np.ndarray, velocity: np.ndarray | None,
                 card: ModelCard) -> tuple[float, float]:
    """(s_d, s_v) of the whole frame for a model whose card says `"normalise": "frame"`, from
    the velocity BEFORE art direction; (1, 1) otherwise."""
    if card.normalise != "frame":
        return 1.0, 1.0
    return frame_scales(density, velocity)


def upres_blocks(density: Volume, velocity: np.ndarray | None, run, card: ModelCard,
                 cfg: UpresConfig, tile: int, scales: tuple[float, float] = (1.0, 1.0)):
    """Yield (high-res block, index offset in the final output grid) over the frame, in the
    network's up-axis index space. `velocity` is the art-directed network input; `scales`
    the frame's normalisation (`input_scales`).

    8x and 16x are two passes; the second streams (`_streamed_second_pass`): no intermediate
    is held whole, and the output is bit-identical to `_dense_passes`."""
    steps = passes(cfg.scale, card.scale)
    if len(steps) == 1:
        for t, core in _one_pass(density.data, velocity, run, card, cfg, tile, scales):
            yield core, _final_offset(card.scale, density.offset, t)
        return
    yield from _streamed_second_pass(density, velocity, run, card, cfg, tile, scales, steps[1])


def _final_offset(scale: int, offset, t: Tile) -> tuple[int, ...]:
    return tuple(int(scale * (o + a)) for o, a in zip(offset, t.lo))


# -- 8x / 16x: the second pass, streamed ------------------------------------------------------
#
# The second pass's input is the first pass's output, downsampled `ratio` x (a blur, then a
# trilinear sample: `downsample`), with the input velocity upsampled `step` x. Each of the
# second pass's cores reads `margin` cells of that input around it, which need a few more
# cells of the first pass's output (the blur's radius, the sample's two taps), which come from
# the first-pass tiles (the same tiles a dense run plans) that overlap them. First-pass cores
# are computed once, kept while a later group of second-pass cores still needs them and
# dropped after their last use; the second pass's input exists only per group, as a window.


FLOAT32 = 4


def _margin(card: ModelCard) -> int:
    """Cells of a pass's input read around a core: the network's halo, the tricubic blend's 2."""
    return max(card.halo, 2)


def _blur_reach(ratio: int) -> int:
    """High-res cells beyond `ratio * [lo, hi)` that `downsample_region` may read: the blur's
    radius and one cell for the sample's taps (0 when the second pass reads the output as is)."""
    if ratio == 1:
        return 0
    return blur_radius(ratio) + 1


def _second_pass_schedule(low: tuple[int, ...], card: ModelCard, tile: int, step: int,
                          batch: int):
    """Geometry only: (first-pass tiles, groups of second-pass tiles in the order they run,
    each group's box of second-pass input and the first-pass tiles that box needs, and for each
    first-pass tile the index of the last group that needs it)."""
    s, ratio = card.scale, card.scale // step
    first = plan_tiles(low, tile)
    second = plan_tiles(tuple(step * n for n in low), tile)
    nxt = tuple(step * n for n in low)
    margin, reach = _margin(card), _blur_reach(ratio)
    # the first-pass tiles along each axis, to find the ones a box of output cells overlaps
    axes = [sorted({(t.lo[a], t.hi[a]) for t in first}) for a in range(len(low))]
    index = {t: k for k, t in enumerate(first)}
    groups, last_use = [], {}
    for g, start in enumerate(range(0, len(second), batch)):
        members = second[start:start + batch]
        lo = [max(min(t.lo[a] for t in members) - margin, 0) for a in range(len(low))]
        hi = [min(max(t.hi[a] for t in members) + margin, n) for a, n in enumerate(nxt)]
        ranges = []
        for a in range(len(low)):
            h0, h1 = ratio * lo[a] - reach, ratio * hi[a] + reach  # first-pass output cells
            ranges.append([r for r in axes[a] if s * r[1] > h0 and s * r[0] < h1])
        needed = []
        for combo in itertools.product(*ranges):
            k = index[Tile(tuple(r[0] for r in combo), tuple(r[1] for r in combo))]
            needed.append(k)
            last_use[k] = g
        groups.append((members, tuple(lo), tuple(hi), needed))
    return first, groups, last_use


def second_pass_memory_bytes(low: tuple[int, ...], card: ModelCard, cfg: UpresConfig,
                             tile: int) -> int:
    """Peak bytes the streamed second pass holds besides the network call (`plan.py`'s
    "intermediate"): the first-pass cores kept for later groups, plus one group's windows (the
    first-pass output it reads with the blur's temporaries, its input and velocity, and the
    network input); 0 for a single pass. Every first-pass tile is assumed occupied."""
    steps = passes(cfg.scale, card.scale)
    if len(steps) == 1 or not all(low):
        return 0
    s, step = card.scale, steps[1]
    ratio, reach = s // step, _blur_reach(s // step)
    first, groups, last_use = _second_pass_schedule(low, card, tile, step, cfg.batch)
    size = [int(np.prod([s * n for n in t.shape])) for t in first]
    live, cores, peak = set(), 0, 0
    for g, (members, lo, hi, needed) in enumerate(groups):
        for k in needed:
            if k not in live:
                live.add(k)
                cores += size[k]
        box = np.prod([b - a + 2 * _margin(card) for a, b in zip(lo, hi)])
        raw = np.prod([ratio * (b - a) + 2 * reach for a, b in zip(lo, hi)])
        c = len(card.inputs)  # density + the velocity-like channels (`network_velocity`)
        window = raw * 4 + box * (1 + 2 * (c - 1) + c)  # blur: 4 copies of raw
        peak = max(peak, int((cores + window) * FLOAT32))
        for k in needed:
            if last_use[k] == g:
                live.discard(k)
                cores -= size[k]
    return peak


def _run_window(d_win: np.ndarray, v_win, origin, tiles: list[Tile], run, card: ModelCard,
                cfg: UpresConfig, tile: int, scales: tuple[float, float]):
    """`_one_pass` over `tiles` (in full-field cells) of a window whose cell 0 is `origin`
    (zeros beyond the field, as `halo_window` pads); yields (tile in field cells, core)."""
    shifted = {Tile(tuple(a - o for a, o in zip(t.lo, origin)),
                    tuple(b - o for b, o in zip(t.hi, origin))): t for t in tiles}
    for t, core in _one_pass(d_win, v_win, run, card, cfg, tile, scales, list(shifted)):
        yield shifted[t], core


def _first_pass_cores(d: np.ndarray, v, tiles: list[Tile], run, card, cfg, tile, scales):
    """{tile: core} of the first pass for `tiles` (absent: skipped as empty)."""
    margin = _margin(card)
    lo = tuple(min(t.lo[a] for t in tiles) for a in range(d.ndim))
    hi = tuple(max(t.hi[a] for t in tiles) for a in range(d.ndim))
    box = Tile(lo, hi)
    d_win = halo_window(d, box, margin)
    v_win = None if v is None else halo_window(v, box, margin)
    origin = tuple(a - margin for a in lo)
    return dict(_run_window(d_win, v_win, origin, tiles, run, card, cfg, tile, scales))


def _upsampled_velocity(velocity: np.ndarray, step: int, lo, hi) -> np.ndarray:
    """`upsample(velocity, step, "trilinear") * step` over the finer cells [lo, hi), from the
    few coarse cells they interpolate (bit-identical: the positions are exact multiples of
    1 / (2 step), and a window's border taps clamp only where the field's do)."""
    q0 = [max(a // step - 1, 0) for a in lo]
    q1 = [min((b - 1) // step + 2, n) for b, n in zip(hi, velocity.shape)]
    win = velocity[tuple(slice(a, b) for a, b in zip(q0, q1))]
    up = upsample(torch.from_numpy(np.ascontiguousarray(win.transpose(3, 0, 1, 2)))[None],
                  step, "trilinear")[0]
    up = up[(slice(None),) + tuple(slice(a - step * q, b - step * q)
                                   for a, b, q in zip(lo, hi, q0))]
    return _finer_cells(up.numpy().transpose(1, 2, 3, 0), step)


def _finer_cells(up: np.ndarray, step: int) -> np.ndarray:
    """Up-sampled `network_velocity` in the units of a `step` x finer grid: the velocity's
    three channels are `step` x more cells per frame; a slider channel stays as it is."""
    up[..., :3] *= step
    return up


def _streamed_second_pass(density: Volume, velocity, run, card: ModelCard, cfg: UpresConfig,
                          tile: int, scales: tuple[float, float], step: int):
    """Yield (block, offset) of the second pass of an 8x/16x run, group by group."""
    s, ratio = card.scale, card.scale // step
    low = density.data.shape
    field = tuple(s * n for n in low)  # the first pass's output, never held whole
    first, groups, last_use = _second_pass_schedule(low, card, tile, step, cfg.batch)
    margin = _margin(card)
    cores: dict[int, np.ndarray | None] = {}
    offset = np.array(density.offset) * step
    pass_scales = (scales[0], scales[1] * step)  # the same densities, speeds `step` x larger

    def first_output(lo, hi):
        out = np.zeros(tuple(b - a for a, b in zip(lo, hi)), np.float32)
        for k in needed:  # the cores the group's window overlaps (a superset of these boxes')
            core = cores[k]
            if core is None:
                continue
            t0 = [s * a for a in first[k].lo]
            a0 = [max(a, t) for a, t in zip(lo, t0)]
            b0 = [min(b, t + n) for b, t, n in zip(hi, t0, core.shape)]
            if all(a < b for a, b in zip(a0, b0)):
                out[tuple(slice(a - l, b - l) for a, b, l in zip(a0, b0, lo))] = \
                    core[tuple(slice(a - t, b - t) for a, b, t in zip(a0, b0, t0))]
        return out

    for g, (members, lo, hi, needed) in enumerate(groups):
        missing = [k for k in needed if k not in cores]
        if missing:
            done = _first_pass_cores(density.data, velocity, [first[k] for k in missing], run,
                                     card, cfg, tile, scales)
            cores.update({k: done.get(first[k]) for k in missing})
        d_in = (downsample_region(first_output, field, ratio, lo, hi).numpy() if ratio > 1
                else first_output(lo, hi))
        # the window of the second pass's input around the group, zeros beyond the field
        box = Tile(tuple(min(t.lo[a] for t in members) for a in range(len(low))),
                   tuple(max(t.hi[a] for t in members) for a in range(len(low))))
        origin = tuple(a - margin for a in box.lo)
        shape = tuple(b - a + 2 * margin for a, b in zip(box.lo, box.hi))
        inner = tuple(slice(a - o, b - o) for a, b, o in zip(lo, hi, origin))
        d_win = np.zeros(shape, d_in.dtype)
        d_win[inner] = d_in
        v_win = None
        if velocity is not None:
            v_in = _upsampled_velocity(velocity, step, lo, hi)
            v_win = np.zeros(shape + v_in.shape[-1:], v_in.dtype)
            v_win[inner] = v_in
        for t, core in _run_window(d_win, v_win, origin, members, run, card, cfg, tile,
                                   pass_scales):
            yield core, _final_offset(s, offset, t)
        for k in needed:
            if last_use[k] == g:
                cores.pop(k, None)


def _dense_passes(density: Volume, velocity: np.ndarray | None, run, card: ModelCard,
                  cfg: UpresConfig, tile: int, scales: tuple[float, float] = (1.0, 1.0)):
    """`upres_blocks` of an 8x/16x run as it was before the second pass streamed: the first
    pass fills a dense intermediate, which `_next_pass_input` turns into the second pass's
    input. The reference the streamed path is tested and benchmarked against
    (`benchmarks/bench_upres_8x.py`); not used by the engine."""
    steps = passes(cfg.scale, card.scale)
    d, v, offset = density.data, velocity, np.array(density.offset)
    for i, step in enumerate(steps):
        pass_scales = (scales[0], scales[1] * step)
        cores = _one_pass(d, v, run, card, cfg, tile, pass_scales)
        if i == len(steps) - 1:
            for t, core in cores:
                yield core, _final_offset(card.scale, offset, t)
            return
        hi_res = np.zeros(tuple(card.scale * n for n in d.shape), np.float32)
        for t, core in cores:
            lo = np.array(t.lo) * card.scale
            hi_res[tuple(slice(a, a + n) for a, n in zip(lo, core.shape))] = core
        following = steps[i + 1]
        d, v = _next_pass_input(hi_res, velocity, card.scale // following, following)
        offset = np.array(density.offset) * following


def _next_pass_input(hi_res: np.ndarray, velocity: np.ndarray | None, ratio: int, step: int):
    """The input of a later pass: the previous output brought to `step` x the input resolution
    (downsampled `ratio` x), and the input velocity upsampled `step` x, in cells per frame of
    that finer grid."""
    d = torch.from_numpy(hi_res)[None, None]
    d = (downsample(d, ratio) if ratio > 1 else d)[0, 0].numpy()
    v = None
    if velocity is not None:
        up = upsample(torch.from_numpy(np.ascontiguousarray(
            velocity.transpose(3, 0, 1, 2)))[None], step, "trilinear")[0]
        v = _finer_cells(up.numpy().transpose(1, 2, 3, 0), step)
    return d, v


def detail_mask(frame: SmokeFrame, cfg: UpresConfig, cache_up: str) -> np.ndarray | None:
    """The mask w in [0, 1] on the density voxels, or None."""
    if not cfg.mask:
        return None
    if ":" in cfg.mask:
        shape = ShapeMask.parse(cfg.mask)
        # the frame is y-up; the mask is given in the cache's own world space
        rot = up_axis_rotation(cache_up, "y")
        return shape.weight(frame.density.cell_centres() @ rot)
    grid = frame.extras.get(cfg.mask)
    if grid is None or grid.is_vector:
        raise InputError(f"{frame.path}: --mask '{cfg.mask}' is neither a shape nor a float "
                         "grid of this frame")
    if grid.offset != frame.density.offset or grid.shape != frame.density.shape:
        from ..io.resample import resample_onto

        grid = resample_onto(grid, frame.density.matrix, frame.density.offset,
                             frame.density.shape)
    return np.clip(grid.data, 0.0, 1.0)


def _builder(name: str, matrix: np.ndarray, up: str, cfg: UpresConfig, meta: dict,
             vector: bool = False, tolerance: float | None = None) -> GridBuilder:
    """An output grid whose transform is `matrix` turned back to the cache's up axis; values
    at most `tolerance` (default `cfg.threshold`; vectors: 0) are background."""
    probe = rotate_up_axis(Volume(name, np.zeros((1, 1, 1), np.float32), (0, 0, 0), matrix),
                           "y", up)
    builder = GridBuilder(name, probe.matrix, vector=vector, metadata=meta, half=cfg.half,
                          tolerance=0.0 if vector else (cfg.threshold if tolerance is None
                                                        else tolerance),
                          vector_type="contravariant relative" if vector else None)
    return builder


def _paste(builder: GridBuilder, name: str, block: np.ndarray, offset, matrix, up: str):
    vol = rotate_up_axis(Volume(name, block, tuple(offset), matrix), "y", up)
    builder.paste(vol.data, vol.offset)


def upres_frame(frame: SmokeFrame, run, card: ModelCard, cfg: UpresConfig, *, tile: int,
                cache_up: str, settings: dict,
                into: list[GridBuilder] | None = None,
                scales: tuple[float, float] | None = None) -> list[GridBuilder]:
    """All output grids of one frame, filled tile by tile. With `into` (the grids an earlier
    call returned), `frame` is one more window of the same frame (a region of a sparse cache,
    `billow.io.regions`) and its output is pasted into those grids; `scales` are then the
    whole frame's normalisation (`window_sums` over every window), not the window's."""
    dens = frame.density
    if card.needs_velocity and frame.velocity is None:
        raise InputError(f"{frame.path}: no velocity grid, and model {card.name} needs "
                         f"{', '.join(card.inputs)}")
    vel_in = None
    if card.needs_velocity:
        factor = velocity_scale_field(dens.shape, cfg.velocity_scale,
                                      detail_mask(frame, cfg, cache_up))
        vel_in = network_velocity(frame.velocity.data, factor, card.slider_input)
    if scales is None or card.normalise != "frame":
        scales = input_scales(dens.data, frame.velocity.data if card.needs_velocity else None,
                              card)
    out_m = upres_matrix(dens.matrix, cfg.scale)
    meta = {"billow_version": __version__, **settings}
    # The background threshold of a frame-normalised model is in the network's units (x the
    # frame's density scale): an absolute one would drop 3.4% of a 10x thinner cache's mass
    # (issue 17, amplitude equivariance) while the network itself is exactly equivariant.
    threshold = cfg.threshold
    if card.normalise == "frame":  # what this frame was divided by (reproducibility)
        threshold = cfg.threshold * float(scales[0])
        meta.update(billow_density_scale=float(scales[0]),
                    billow_speed_scale=float(scales[1]))
    meta["billow_density_threshold"] = float(threshold)
    name = frame.source.get("density", "density")
    density_out = into[0] if into else _builder(name, out_m, cache_up, cfg, meta,
                                                tolerance=threshold)
    for block, offset in upres_blocks(dens, vel_in, run, card, cfg, tile, scales):
        _paste(density_out, name, block, offset, out_m, cache_up)
    grids = [density_out]
    wanted = [w.strip() for w in cfg.pass_through.split(",") if w.strip()]
    for key in wanted:
        vol = frame.extras.get(key)
        if vol is None:
            raise InputError(f"{frame.path}: --pass-through '{key}': no such grid (have: "
                             f"{', '.join(sorted(frame.extras)) or 'none'})")
        grids.append(_upsampled_grid(vol, key, cfg, cache_up, tile,
                                     builder=into[len(grids)] if into else None))
    if cfg.write_velocity and frame.velocity is not None:
        world = from_cells_per_frame(frame.velocity, "world/s",
                                     float(frame.source.get("fps", 24.0)))
        name = frame.source.get("velocity", "vel").split("/")[0]
        name = name[:-2] if name.endswith((".x", "_x")) else name
        grids.append(_upsampled_grid(world.with_data(world.data, name=name), name, cfg,
                                     cache_up, tile, units={"billow_velocity_units": "world/s"},
                                     builder=into[len(grids)] if into else None))
    return grids


def _upsampled_grid(vol: Volume, name: str, cfg: UpresConfig, up: str, tile: int,
                    units: dict | None = None, builder: GridBuilder | None = None) -> GridBuilder:
    """A grid upsampled trilinearly tile by tile (zero beyond its active block)."""
    out_m = upres_matrix(vol.matrix, cfg.scale)
    builder = builder or _builder(vol.name, out_m, up, cfg, dict(units or {}),
                                  vector=vol.is_vector)
    data = vol.data if vol.is_vector else vol.data[..., None]
    for t in plan_tiles(vol.shape, tile):
        h = 1
        crop = halo_window(data, t, h)
        up_block = upsample(torch.from_numpy(np.ascontiguousarray(crop.transpose(3, 0, 1, 2)))
                            [None], cfg.scale, "trilinear")[0].numpy().transpose(1, 2, 3, 0)
        core = core_of(up_block, t, h, cfg.scale)
        offset = cfg.scale * (np.array(vol.offset) + np.array(t.lo))
        _paste(builder, vol.name, core if vol.is_vector else core[..., 0], offset, out_m, up)
    return builder
