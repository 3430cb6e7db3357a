"""Reading and writing the frames of billow.uv: UV sequences, DensePose IUV images, RGB frames.

Formats (decided by the file, not by flags):

- generic UV frame: a 16-bit PNG whose R, G, B channels are (u, v, mask) scaled to 0..65535
  (mask 65535 inside; with an alpha channel, as Nuke and Blender write it, the mask is A), or a float32 EXR with R = u, G = v and the mask in B (or in A when the
  file has an alpha channel);
- DensePose IUV frame: an 8-bit PNG with channels R, G, B = (I, U, V), I in 0..24 (0 is
  background), U and V in 0..255; decoded into global UVs by `atlas.decode_iuv_image`;
- RGB frame: an 8- or 16-bit PNG, RGB or RGBA (alpha is the foreground mask), or RGB plus a
  separate mask sequence (any image; a pixel is foreground where its first channel is over half).

In memory UVs are `uv float32 [H, W, 2]` (u, v in [0, 1], v up as in `atlas`) plus `mask bool
[H, W]`; RGB is `float32 [H, W, 3]` in [0, 1]. Writes are atomic. Bad input raises `InputError`
with one line that names the file: unreadable or corrupt, NaNs, UVs outside [0, 1], missing
frames, frames of different sizes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingDependencyError, OutputError
from ..io.atomic import atomic_path
from ..io.sequence import FramePattern, resolve_frames
from . import atlas

UV_TOLERANCE = 1e-3  # UVs this far outside [0, 1] are clipped; further out is an error
_U16 = 65535.0


def _cv2():
    # OpenCV reads EXR only when this is set before its first import.
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    try:
        import cv2
    except ImportError as e:
        raise MissingDependencyError("reading and writing UV and RGB frames needs OpenCV: "
                                     "pip install opencv-python-headless") from e
    return cv2


def _imread(path: str | Path, reorder: bool = True) -> np.ndarray:
    """The file's pixels with OpenCV's channel order turned into R, G, B(, A) (with
    `reorder=False`, as OpenCV reads them: B, G, R(, A))."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    cv2 = _cv2()
    try:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        raise InputError(f"{path}: cannot read the image ({str(e).strip().splitlines()[-1]})") from e
    if img is None or img.size == 0:
        raise InputError(f"{path}: cannot read the image (not a PNG/EXR, or corrupt)")
    return _bgr_to_rgb(img) if reorder else img


def _bgr_to_rgb(img: np.ndarray) -> np.ndarray:
    if img.ndim == 3 and img.shape[2] >= 3:
        order = [2, 1, 0] + ([3] if img.shape[2] == 4 else [])
        img = img[..., order]
    return img


def _imwrite(path: str | Path, img: np.ndarray) -> None:
    """Write R, G, B(, A) pixels atomically (OpenCV wants B, G, R)."""
    cv2 = _cv2()
    if img.ndim == 3 and img.shape[2] >= 3:
        order = [2, 1, 0] + ([3] if img.shape[2] == 4 else [])
        img = img[..., order]
    with atomic_path(path) as tmp:
        try:
            ok = cv2.imwrite(str(tmp), np.ascontiguousarray(img))
        except cv2.error as e:
            raise OutputError(f"{path}: cannot write ({str(e).strip().splitlines()[-1]})") from e
        if not ok:
            raise OutputError(f"{path}: cannot write (unsupported extension or disk full)")


def _check_uv(path, uv: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not np.isfinite(uv).all():
        raise InputError(f"{path}: the UVs contain NaN or infinite values")
    inside = uv[mask]
    if inside.size and (inside.min() < -UV_TOLERANCE or inside.max() > 1.0 + UV_TOLERANCE):
        raise InputError(f"{path}: UVs outside [0, 1] (range {inside.min():.4g} .. "
                         f"{inside.max():.4g}); billow.uv needs global atlas UVs in [0, 1]")
    uv = np.where(mask[..., None], np.clip(uv, 0.0, 1.0), 0.0).astype(np.float32)
    return uv, mask


def read_uv(path: str | Path, keep_u16: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One UV frame of any supported format -> (uv float32 [H, W, 2], mask bool [H, W]).

    With `keep_u16`, a 16-bit frame comes back as uint16 UVs (`u16 / 65535`, what the native
    lookup takes directly): no float conversion, clipping or range check (16-bit values cannot
    leave [0, 1]), and no channel reordering of the whole image: the re-texturing fast path.
    Other formats come back as float32 as usual."""
    if keep_u16:
        raw = _imread(path, reorder=False)  # B, G, R(, A)
        if raw.dtype == np.uint16 and raw.ndim == 3 and raw.shape[2] >= 3:
            # one pass of OpenCV's channel shuffle (half the time of numpy's strided copies):
            # u = R, v = G, the mask channel (A, else B) to compare
            uv = np.empty(raw.shape[:2] + (2,), np.uint16)
            m = np.empty(raw.shape[:2], np.uint16)
            _cv2().mixChannels([raw], [uv, m], [2, 0, 1, 1, 3 if raw.shape[2] == 4 else 0, 2])
            return uv, m > _U16 / 2
        img = _bgr_to_rgb(raw)
    else:
        img = _imread(path)
    if img.ndim != 3 or img.shape[2] < 3:
        raise InputError(f"{path}: a UV frame needs 3 or 4 channels (u, v, mask), "
                         f"this image has {1 if img.ndim == 2 else img.shape[2]}")
    if img.dtype == np.uint8:
        if img[..., 0].max() > atlas.PARTS:
            raise InputError(f"{path}: 8-bit UV frames are DensePose IUV images, but part index "
                             f"{int(img[..., 0].max())} is over {atlas.PARTS}")
        return atlas.decode_iuv_image(img[..., :3])
    if img.dtype == np.uint16:
        uv = img[..., :2].astype(np.float32) / _U16
        # RGBA (as Nuke and Blender write UV passes): the mask is alpha, as for EXR
        mask = (img[..., 3] if img.shape[2] == 4 else img[..., 2]) > _U16 / 2
    elif img.dtype in (np.float32, np.float16, np.float64):
        uv = img[..., :2].astype(np.float32)
        m = img[..., 3] if img.shape[2] == 4 else img[..., 2]
        if not np.isfinite(m).all():
            raise InputError(f"{path}: the mask channel contains NaN or infinite values")
        mask = m > 0.5
    else:
        raise InputError(f"{path}: unsupported pixel type {img.dtype} for a UV frame "
                         "(16-bit PNG, float EXR or 8-bit DensePose IUV)")
    return _check_uv(path, uv, mask)


def _uv_pixels(uv: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uv = np.asarray(uv, dtype=np.float32)
    mask = np.asarray(mask, dtype=bool)
    if uv.shape[:2] != mask.shape or uv.shape[-1] != 2:
        raise ValueError(f"uv {uv.shape} and mask {mask.shape} do not match ([H, W, 2], [H, W])")
    return np.where(mask[..., None], np.clip(uv, 0.0, 1.0), 0.0), mask


def write_uv(path: str | Path, uv: np.ndarray, mask: np.ndarray) -> None:
    """A generic UV frame: float32 EXR for `.exr`, otherwise a 16-bit PNG."""
    uv, mask = _uv_pixels(uv, mask)
    if Path(path).suffix.lower() == ".exr":
        img = np.dstack([uv, mask.astype(np.float32)]).astype(np.float32)
    else:
        img = np.dstack([np.rint(uv * _U16), mask * _U16]).astype(np.uint16)
    _imwrite(path, img)


def write_iuv(path: str | Path, uv: np.ndarray, mask: np.ndarray) -> None:
    """An 8-bit DensePose IUV PNG (U and V quantised to 1/255 of a tile)."""
    uv, mask = _uv_pixels(uv, mask)
    _imwrite(path, atlas.encode_iuv_image(uv, mask))


def _unit(img: np.ndarray, path) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / _U16
    if img.dtype in (np.float32, np.float16, np.float64):
        out = img.astype(np.float32)
        if not np.isfinite(out).all():
            raise InputError(f"{path}: the image contains NaN or infinite values")
        return out
    raise InputError(f"{path}: unsupported pixel type {img.dtype}")


def read_rgb(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """An RGB(A) frame -> (rgb float32 [H, W, 3] in [0, 1], alpha > 1/2 as bool, or None)."""
    img = _unit(_imread(path), path)
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=-1), None
    if img.shape[2] == 2:  # grey + alpha
        return np.repeat(img[..., :1], 3, axis=-1), img[..., 1] > 0.5
    alpha = img[..., 3] > 0.5 if img.shape[2] == 4 else None
    return np.ascontiguousarray(img[..., :3]), alpha


def read_mask(path: str | Path) -> np.ndarray:
    """A mask frame: foreground where the first channel (or alpha, if present) is over half."""
    img = _unit(_imread(path), path)
    if img.ndim == 3 and img.shape[2] in (2, 4):
        return img[..., -1] > 0.5
    return (img if img.ndim == 2 else img[..., 0]) > 0.5


def write_rgb(path: str | Path, rgb: np.ndarray, alpha: np.ndarray | None = None) -> None:
    """An 8-bit PNG, RGBA when `alpha` (bool or coverage in [0, 1]) is given."""
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be [H, W, 3], got {rgb.shape}")
    chans = [rgb] if alpha is None else [rgb, np.asarray(alpha, dtype=np.float32)[..., None]]
    img = np.rint(np.clip(np.concatenate(chans, axis=-1), 0.0, 1.0) * 255.0).astype(np.uint8)
    _imwrite(path, img)


def _same_size(path, shape, first_path, first_shape) -> None:
    if shape != first_shape:
        raise InputError(f"{path}: size {shape[1]}x{shape[0]} differs from {first_path} "
                         f"({first_shape[1]}x{first_shape[0]})")


def require_same_size(path_a, shape_a, path_b, shape_b) -> None:
    """InputError naming both sequences when two sequences' frames differ in size (H, W)."""
    _same_size(path_a, tuple(shape_a[:2]), path_b, tuple(shape_b[:2]))


def read_uv_sequence(pattern: str | Path | FramePattern, frames=None
                     ) -> tuple[list, np.ndarray, np.ndarray]:
    """(frame numbers, uv [T, H, W, 2], mask [T, H, W]) of a UV frame pattern or single file."""
    jobs = resolve_frames(pattern, frames)
    uvs, masks = [], []
    for _, path in jobs:
        uv, mask = read_uv(path)
        if uvs:
            _same_size(path, mask.shape, jobs[0][1], masks[0].shape)
        uvs.append(uv)
        masks.append(mask)
    return [f for f, _ in jobs], np.stack(uvs), np.stack(masks)


def read_rgb_sequence(pattern: str | Path | FramePattern, frames=None, mask_pattern=None,
                      require_mask: bool = True) -> tuple[list, np.ndarray, np.ndarray]:
    """(frame numbers, rgb [T, H, W, 3], mask [T, H, W]) of an RGB frame pattern.

    The mask comes from `mask_pattern` (the same frames must exist) or else from alpha; frames
    with neither are an error, unless `require_mask` is False (then everything is foreground,
    as for background plates).
    """
    jobs = resolve_frames(pattern, frames)
    mask_jobs = None
    if mask_pattern is not None:
        wanted = None if jobs[0][0] is None else [f for f, _ in jobs]
        mask_jobs = resolve_frames(mask_pattern, wanted)
    rgbs, masks = [], []
    for k, (_, path) in enumerate(jobs):
        rgb, alpha = read_rgb(path)
        if rgbs:
            _same_size(path, rgb.shape[:2], jobs[0][1], rgbs[0].shape[:2])
        if mask_jobs is not None:
            mask_path = mask_jobs[k][1]
            alpha = read_mask(mask_path)
            _same_size(mask_path, alpha.shape, path, rgb.shape[:2])
        elif alpha is None:
            if require_mask:
                raise InputError(f"{path}: no alpha channel and no mask sequence; the "
                                 "foreground needs one of them (RGBA frames or --mask PATTERN)")
            alpha = np.ones(rgb.shape[:2], dtype=bool)
        rgbs.append(rgb)
        masks.append(alpha)
    return [f for f, _ in jobs], np.stack(rgbs), np.stack(masks)
