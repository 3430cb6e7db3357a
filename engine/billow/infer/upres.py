"""The main job: upres one smoke frame, tile by tile, into sparse output grids.

A frame is read y-up with velocity in low-res cells per frame (`billow.io.read_smoke_frame`);
art direction scales the velocity input; the network runs on seam-free tiles over the active
bounding box only; each output core is pasted straight into a sparse OpenVDB grid, so the
high-res volume is never held densely (except the intermediate of recursive 8x/16x passes,
which is 2x/4x the input's size); the result is turned back to the cache's up axis and placed
with the exact upres transform.
"""

from __future__ import annotations

import numpy as np
import torch

from .._version import __version__
from ..errors import InputError
from ..io import GridBuilder, SmokeFrame, Volume, upres_matrix
from ..io.transform import index_to_world, up_axis_rotation
from ..io.units import from_cells_per_frame, rotate_up_axis
from ..ops import downsample, upsample
from ..ops.normalise import frame_scales
from ..ops.tiling import Tile, core_of, halo_window, occupied_tiles, plan_tiles, run_tiles
from .art import ShapeMask, velocity_scale_field
from .backends import tile_runner
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
    from .backends import has_core_pass

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
    core = None if "bytes_per_output_voxel" in card.extra else _core(card)
    tile = 8
    while tile + 8 <= 256 and tile_memory_bytes(card, tile + 8, batch, core) <= budget:
        tile += 8
    return tile


def _core(card: ModelCard) -> bool:
    from .backends import has_core_pass

    return has_core_pass(card)


def tile_work(card: ModelCard, tile: int) -> tuple[float, float] | None:
    """(multiply-adds per kept output voxel with `tile`-cell tiles, the same relative to an
    unbounded tile) for the path upres takes with this card; None without a torch
    architecture to count."""
    from .backends import work_per_voxel

    core = _core(card)
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
    normalisation, (1, 1) for models without it)."""
    channels = []
    for name in card.inputs:
        if name == "density":
            channels.append(density * (card.density_norm / scales[0]))
        elif name.startswith("vel."):
            channels.append(velocity[..., "xyz".index(name[-1])]
                            * (card.velocity_norm / scales[1]))
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
              scales: tuple[float, float]):
    """Yield (tile, high-res core) for one application of the network."""
    tiles = plan_tiles(density.shape, tile)
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

    8x and 16x are several passes: every pass but the last fills a dense intermediate, which
    `_next_pass_input` turns into the next pass's input; only the last pass is yielded."""
    steps = passes(cfg.scale, card.scale)
    d, v, offset = density.data, velocity, np.array(density.offset)
    for i, step in enumerate(steps):
        # a later pass sees the same densities, and speeds `step` x larger in its cells
        pass_scales = (scales[0], scales[1] * step)
        cores = _one_pass(d, v, run, card, cfg, tile, pass_scales)
        if i == len(steps) - 1:
            for t, core in cores:
                lo = np.array(t.lo) * card.scale
                yield core, tuple(int(x) for x in card.scale * offset + lo)
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
        v = up.numpy().transpose(1, 2, 3, 0) * step
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
             vector: bool = False) -> GridBuilder:
    """An output grid whose transform is `matrix` turned back to the cache's up axis."""
    probe = rotate_up_axis(Volume(name, np.zeros((1, 1, 1), np.float32), (0, 0, 0), matrix),
                           "y", up)
    builder = GridBuilder(name, probe.matrix, vector=vector, metadata=meta, half=cfg.half,
                          tolerance=0.0 if vector else cfg.threshold,
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
        vel_in = frame.velocity.data * factor[..., None]
    if scales is None or card.normalise != "frame":
        scales = input_scales(dens.data, frame.velocity.data if card.needs_velocity else None,
                              card)
    out_m = upres_matrix(dens.matrix, cfg.scale)
    meta = {"billow_version": __version__, **settings}
    if card.normalise == "frame":  # what this frame was divided by (reproducibility)
        meta.update(billow_density_scale=float(scales[0]),
                    billow_speed_scale=float(scales[1]))
    name = frame.source.get("density", "density")
    density_out = into[0] if into else _builder(name, out_m, cache_up, cfg, meta)
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
