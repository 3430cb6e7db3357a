"""Upres settings, importable without torch (the CLI builds its flags from them)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option

PRECISIONS = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class UpresConfig:
    """How to upres. Every field is a `billow upres` flag."""

    scale: int = option(4, "total upres factor; 8 and 16 apply a 4x model recursively "
                        "(4x, then 2x or 4x more)", choices=(4, 8, 16))
    # 56, not 48, since the session-18 default (halo 15): its 48-cell tiles computed 2.07x an
    # unbounded tile's multiply-adds per output voxel (warned above 2x), 56-cell ones 1.87x
    tile: int = option(56, "tile core size in low-res cells (reduced automatically on "
                       "out-of-memory)")
    batch: int = option(1, "tiles per network call")
    max_memory: float | None = option(None, "GB of working memory for the network; picks the "
                                      "largest tile that fits (overrides --tile)")
    velocity_scale: float = option(1.0, "detail control (Sec. 3.5.2): 0 suppresses detail, 1 "
                                   "as trained, 2 exaggerates")
    mask: str | None = option(None, "where --velocity-scale applies: sphere:cx,cy,cz,r[,falloff]"
                              " or box:x0,y0,z0,x1,y1,z1[,falloff] in world units, or the name "
                              "of a float grid (0..1) in the input")
    detail_blend: float = option(0.0, "blend towards a tricubic upsample: 0 network only, 1 "
                                 "tricubic only")
    pass_through: str = option("", "comma-separated grids/roles upsampled trilinearly into the "
                               "output, e.g. temperature,flame")
    write_velocity: bool = option(False, "also write the upsampled velocity (for motion blur)")
    half: bool = option(False, "store output floats as 16-bit half")
    threshold: float = option(1e-4, "output density below this is background (sparse output); "
                              "for models that normalise by the frame (the shipped 3D model) "
                              "in units of the frame's density scale (billow_density_scale), "
                              "so a k x denser cache keeps the same voxels; the absolute value "
                              "used is written as billow_density_threshold")
    sparse: bool = option(True, "skip tiles with no smoke in reach (--no-sparse runs every "
                          "tile of the bounding box; for comparisons)")
