"""What an upres run will do, from the files' headers only (`billow upres --dry-run`): the
frames and their paths, the model, the passes, tile size and count, halo, whether tiles run
core-only and the work per output voxel that tile size costs, and an estimate of the memory, so a farm wrangler can check a job before it takes a machine. Reads no voxel data
and writes nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import ReadOptions, list_grids, resolve
from ..io.regions import use_regions
from ..io.vdb import vdb_complete
from ..ops.tiling import plan_tiles
from . import ModelCard  # the package names it; the model card format owns it
from .backends import has_core_pass
from .config import UpresConfig
from .upres import (passes, second_pass_memory_bytes, tile_for_memory, tile_memory_bytes,
                    tile_note, tile_work)

FLOAT = 4  # bytes per float32 value


def plan_upres(jobs: list[tuple[int | None, Path, Path]], card: ModelCard, model: str | Path,
               cfg: UpresConfig, opt: ReadOptions, *, skip_existing: bool = False) -> dict:
    """The plan of `upres_sequence(jobs, ...)` with this card and config, as a JSON-ready dict.

    Tile counts are per frame over the density's active box in every pass (an 8x run is a 4x
    pass, then another over the 2x-downsampled output), before empty tiles are skipped, so
    an upper bound. Memory: one network call on a batch of tiles (`tile_memory_bytes`), the
    largest frame's input block (density, velocity and the network input) and, for 8x/16x,
    what the streamed second pass keeps between passes (`second_pass_memory_bytes`: the
    first-pass cores later tiles still need, one group's windows)."""
    tile = tile_for_memory(card, cfg.max_memory, cfg.batch) if cfg.max_memory else cfg.tile
    steps = passes(cfg.scale, card.scale)
    frames, largest, largest_box = [], 0, (0, 0, 0)
    for frame_no, src, dst in jobs:
        infos = list_grids(src)
        name = resolve(infos, "density", opt.density_grid, source=str(src),
                       required=True).names[0]
        info = next(i for i in infos if i.name == name)
        shape = ((0, 0, 0) if info.bbox is None else
                 tuple(int(h - l + 1) for l, h in zip(*info.bbox)))
        if int(np.prod(shape)) > largest:
            largest, largest_box = int(np.prod(shape)), shape
        skipped = skip_existing and dst.exists() and vdb_complete(dst) is None
        frames.append({
            "frame": frame_no, "input": str(src), "output": str(dst), "density_grid": name,
            "active_box": list(shape),
            "tiles": [len(plan_tiles(tuple(n * s for n in shape), tile)) for s in steps],
            "regions": bool(info.bbox is not None and use_regions(src, [name], card.halo + 2)),
            "skipped": skipped,
        })
    network = tile_memory_bytes(card, tile, cfg.batch)
    # the largest frame's (the schedule is simulated once: 0.1 s for 256x180x180, 48-cell tiles)
    intermediate = second_pass_memory_bytes(largest_box, card, cfg, tile)
    work = tile_work(card, tile)
    block = largest * FLOAT * (1 + 3 + len(card.inputs))
    return {
        "model": str(model), "card": card.name, "model_scale": card.scale, "scale": cfg.scale,
        "passes": len(steps), "inputs": list(card.inputs), "tile": tile, "halo": card.halo,
        "batch": cfg.batch, "tile_from_memory": cfg.max_memory is not None,
        "core_only": has_core_pass(card),
        "macs_per_output_voxel": None if work is None else round(work[0]),
        "halo_work": None if work is None else round(work[1], 3),
        "tile_note": tile_note(card, tile, cfg.max_memory),
        "frames": frames, "to_write": sum(not f["skipped"] for f in frames),
        "memory_bytes": {"network_call": int(network), "input_block": int(block),
                         "intermediate": int(intermediate),
                         "estimate": int(network + block + intermediate)},
    }


def format_plan(plan: dict) -> str:
    """The plan as lines for a terminal."""
    gb = 2.0 ** 30
    mem = plan["memory_bytes"]
    lines = ["billow upres --dry-run: nothing is written",
             f"  model   {plan['model']} ({plan['card']}, x{plan['model_scale']}, inputs "
             f"{', '.join(plan['inputs'])})",
             f"  scale   x{plan['scale']} in {plan['passes']} pass(es)",
             f"  tiles   {plan['tile']} cells{' (from --max-memory)' * plan['tile_from_memory']}"
             f", halo {plan['halo']}, batch {plan['batch']}, "
             + ("core-only" if plan["core_only"] else "padded (no core-only pass)")
             + ("" if plan["macs_per_output_voxel"] is None else
                f", {plan['macs_per_output_voxel']:,} multiply-adds per output voxel "
                f"({plan['halo_work']:.2f}x a large tile's)"),
             f"  memory  about {mem['estimate'] / gb:.2f} GB (network call "
             f"{mem['network_call'] / gb:.2f}, input block {mem['input_block'] / gb:.2f}"
             + (f", between passes {mem['intermediate'] / gb:.2f}" if mem["intermediate"] else "")
             + ")",
             f"  frames  {len(plan['frames'])}, {plan['to_write']} to write"]
    if plan["tile_note"]:
        lines.insert(4, f"  warning {plan['tile_note']}")
    for f in plan["frames"]:
        box = "x".join(str(n) for n in f["active_box"])
        note = ("skipped (complete output exists)" if f["skipped"] else
                f"box {box}, at most {' + '.join(str(t) for t in f['tiles'])} tile(s)"
                + (", region by region" if f["regions"] else ""))
        label = "" if f["frame"] is None else f"{f['frame']:>5}  "
        lines.append(f"    {label}{f['input']} -> {f['output']}: {note}")
    return "\n".join(lines)
