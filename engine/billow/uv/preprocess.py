"""Raw UVs to the training targets of the UV model: extend (Sec. 5.2.1), optimise (Sec.
5.2.2), relocate (Sec. 5.2.3), in that order, each stage starting from the previous one.

The one implementation of the chain: `billow uv preprocess` writes its stages as they finish,
`benchmarks/uv_pipeline.py` measures them.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np

from .extend import ExtendConfig, extend
from .optimise import OptimiseConfig, optimise
from .relocate import RelocateConfig, relocate

STAGES = ("extended", "optimised", "relocated")


@dataclasses.dataclass
class Preprocessed:
    extended: np.ndarray  # [T, H, W, 2] UVs over the whole silhouette
    optimised: np.ndarray  # [T, H, W, 2]
    relocated: np.ndarray  # [T, H, W, 2], P^f: every frame mapped into `texture`
    mask: np.ndarray  # [T, H, W] where the extended (and later) UVs are defined
    texture: np.ndarray  # T_o, the reference frame's texture [Ht, Wt, 3]
    timings: dict  # wall seconds per stage: extend_s, optimise_s, relocate_s
    extend_info: dict  # `extend`'s report: missing, push, pull, empty
    optimise_log: list  # `optimise`'s convergence log
    relocate_info: dict  # `relocate`'s report: rejected per frame


def expected_steps(frames: int, cfg: OptimiseConfig) -> int:
    """Progress steps of a run: the optimisation iterations of every chunk plus one per
    relocated frame."""
    chunks = -(-frames // (cfg.batch if cfg.batch > 0 else frames))
    return cfg.iters * chunks + frames


def preprocess(uv: np.ndarray, mask: np.ndarray, rgb: np.ndarray, fg: np.ndarray,
               size: tuple[int, int], ext_cfg: ExtendConfig, opt_cfg: OptimiseConfig,
               rel_cfg: RelocateConfig, reference: int = 0, *,
               on_stage: Callable[..., None] | None = None,
               extend_log=None, on_step=None, on_frame=None) -> Preprocessed:
    """Extend, optimise and relocate raw UVs `uv` [T, H, W, 2] (defined where `mask`) of the
    frames `rgb` (foreground `fg`) into an atlas texture of `size` texels whose content is the
    texture of frame index `reference`.

    `on_stage(name, uv, mask, seconds, report)` is called as each stage finishes (name in
    `STAGES`, `report` the stage's own: `extend`'s info, `optimise`'s log, `relocate`'s info);
    the command writes the stage there, so a later failure keeps the earlier ones. `timings`
    are the stages' compute times (without what `on_stage` does). `extend_log`, `on_step`
    and `on_frame` are the stages' own callbacks (`extend`'s log, `optimise`'s on_step,
    `relocate`'s on_frame)."""
    timings = {}

    def finished(stage, key, t0, uv_s, mask_s, report):
        timings[key] = round(time.perf_counter() - t0, 2)
        if on_stage is not None:
            on_stage(stage, uv_s, mask_s, timings[key], report)

    t0 = time.perf_counter()
    uv_e, mask_e, ext_info = extend(uv, mask, fg, ext_cfg, log=extend_log)
    finished("extended", "extend_s", t0, uv_e, mask_e, ext_info)

    t0 = time.perf_counter()
    uv_o, log = optimise(uv_e, mask_e, rgb, size, opt_cfg, on_step=on_step)
    finished("optimised", "optimise_s", t0, uv_o, mask_e, log)

    t0 = time.perf_counter()
    uv_f, tex, _, rel_info = relocate(uv_o, mask_e, rgb, size, rel_cfg, reference,
                                      on_frame=on_frame)
    finished("relocated", "relocate_s", t0, uv_f, mask_e, rel_info)
    return Preprocessed(uv_e, uv_o, uv_f, mask_e, tex, timings, ext_info, log, rel_info)
