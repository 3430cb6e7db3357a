"""Re-texturing: one bilinear texture lookup per pixel through the frame's UVs, composited over
the original frame (the runtime of a temporalUV sequence, dissertation Sec. 5.4 and Fig. 5.9).

    lookup(x) = bilinear(T, texel_xy(uv(x)))          the lookup of `billow.uv.warp.sample`
    c(x)      = mask(x) * lookup_alpha(x)              coverage
    out(x)    = bg(x) + c(x) (lookup_rgb(x) - bg(x))   over a background plate, or
    out(x)    = (lookup_rgb(x), c(x))                  straight-alpha RGBA without one

The texture is RGBA (`as_rgba` adds an opaque alpha to RGB), texel centres and clamp-to-edge as
in `billow.uv.atlas`. The lookup is done by `billow._kernels.uv_lookup` (C++/OpenMP, AVX2 when
the CPU has it), by the CUDA kernel for CUDA tensors, or by `backend="torch"`, a reference with
the kernel's float arithmetic, step for step (tests compare them).

Element types: texture, background and output share one dtype: uint8 (0..255, the runtime) or
float32 (0..1). `uv` is float32 or uint16 (u16 / 65535, half the memory traffic); `mask` is bool,
uint8 coverage (0..255) or float32 coverage (0..1). Channels are never reordered, so BGR(A)
images (OpenCV's order) work as they are, as long as alpha is the fourth channel.

Cost per output pixel, counted from the kernel (`FLOPS_PER_PIXEL`, plate mode): texel position
5 (u W - 1/2: 2; (1 - v) H - 1/2: 3), fractions 2, bilinear 3 lerps x (sub, mul, add) x 4
channels = 36, coverage 3 (mask scale, x alpha, / 255), composite 3 channels x (sub, mul, add)
= 9: 55 floating-point operations, against DwNet's 57.5 M (Fig. 5.9; the dissertation gives 5
for its own lookup without saying how it counts). Clamps, roundings and index arithmetic are
not counted; uint16 UVs add 2 divisions.
"""

from __future__ import annotations

import numpy as np
import torch

from .._native import cuda_kernels, kernels
from ..errors import InputError

BACKENDS = ("native", "torch")
FLOPS_PER_PIXEL = {"texel position": 5, "fractions": 2, "bilinear (3 lerps x 4 channels)": 36,
                   "coverage (mask x alpha)": 3, "composite (3 channels)": 9}


def as_rgba(texture: np.ndarray) -> np.ndarray:
    """A texture as C-contiguous `[Ht, Wt, 4]`: grey and RGB get an opaque alpha; uint8 stays
    uint8, 16-bit becomes uint8 (the runtime's texel type), float stays float32 in [0, 1]."""
    t = np.asarray(texture)
    if t.dtype == np.uint16:
        t = ((t.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif t.dtype != np.uint8:
        t = t.astype(np.float32)
    if t.ndim == 2:
        t = t[..., None]
    if t.ndim != 3 or t.shape[2] not in (1, 2, 3, 4):
        raise InputError(f"a texture must be [H, W] or [H, W, 1-4], got shape {t.shape}")
    if t.shape[2] in (1, 2):  # grey, grey + alpha
        t = np.concatenate([np.repeat(t[..., :1], 3, axis=-1), t[..., 1:]], axis=-1)
    if t.shape[2] == 3:
        opaque = 255 if t.dtype == np.uint8 else 1.0
        t = np.concatenate([t, np.full(t.shape[:2] + (1,), opaque, t.dtype)], axis=-1)
    return np.ascontiguousarray(t)


def _mask_scale(mask) -> float:
    # bool masks are 0/1 bytes, uint8 masks 0..255 coverage; float masks are used as they are
    boolean = mask.dtype == torch.bool if isinstance(mask, torch.Tensor) else mask.dtype == np.bool_
    return 1.0 if boolean else 1.0 / 255.0


def retexture(texture, uv, mask, background=None, *, backend: str = "native", out=None):
    """Re-texture one frame: see the module docstring. numpy arrays in, a numpy array out
    (`[H, W, 3]` with a background, else `[H, W, 4]`, the texture's dtype); torch tensors on a
    CUDA device run on the GPU and return a tensor. `out` (numpy only) is reused if given."""
    if backend not in BACKENDS:
        raise InputError(f"backend '{backend}': choose {' or '.join(BACKENDS)}")
    if isinstance(uv, torch.Tensor):
        return _retexture_tensors(texture, uv, mask, background, backend)
    texture = np.ascontiguousarray(texture)
    uv, mask = np.ascontiguousarray(uv), np.ascontiguousarray(mask)
    _check(texture, uv, mask, background)
    if backend == "torch":
        t = [None if a is None else torch.from_numpy(np.ascontiguousarray(a))
             for a in (texture, uv, mask, background)]
        return reference(*t).numpy()
    shape = uv.shape[:2] + ((3,) if background is not None else (4,))
    if out is None:
        out = np.empty(shape, texture.dtype)
    bg = None if background is None else np.ascontiguousarray(background)
    kernels().uv_lookup(texture, uv, mask, _mask_scale(mask), bg, out)
    return out


def _check(texture, uv, mask, background) -> None:
    """Shapes and dtypes, with messages for people rather than the kernel's."""
    if texture.ndim != 3 or texture.shape[2] != 4:
        raise InputError(f"texture must be RGBA [Ht, Wt, 4] (see as_rgba), got {tuple(texture.shape)}")
    if uv.ndim != 3 or uv.shape[2] != 2:
        raise InputError(f"uv must be [H, W, 2], got {tuple(uv.shape)}")
    if tuple(mask.shape) != tuple(uv.shape[:2]):
        raise InputError(f"mask {tuple(mask.shape)} does not match uv {tuple(uv.shape)}")
    if background is not None and tuple(background.shape) != tuple(uv.shape[:2]) + (3,):
        raise InputError(f"background {tuple(background.shape)} does not match uv "
                         f"{tuple(uv.shape)} (needs [H, W, 3])")
    if background is not None and background.dtype != texture.dtype:
        raise InputError(f"background ({background.dtype}) and texture ({texture.dtype}) "
                         "must have the same dtype")


def _retexture_tensors(texture, uv, mask, background, backend):
    _check(texture, uv, mask, background)
    if backend == "torch" or uv.device.type != "cuda":
        return reference(texture, uv, mask, background)
    bg = None if background is None else background.contiguous()
    return cuda_kernels().uv_lookup(texture.contiguous(), uv.contiguous(), mask.contiguous(),
                                    _mask_scale(mask), bg)


def _axis(g: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Neighbours and weight along one axis of `n` texels, clamp-to-edge (uv_lookup.cpp)."""
    if n <= 1:
        zero = torch.zeros_like(g, dtype=torch.long)
        return zero, zero, torch.zeros_like(g)
    g = torch.nan_to_num(g, nan=0.0).clamp(0.0, float(n - 1))
    i0 = g.long().clamp_max(n - 2)
    return i0, i0 + 1, g - i0.to(g.dtype)


def reference(texture: torch.Tensor, uv: torch.Tensor, mask: torch.Tensor,
              background: torch.Tensor | None = None) -> torch.Tensor:
    """The pure-torch re-texturing (any device), the kernel's arithmetic in the same order.
    Texture, background and the result share the texture's dtype (uint8 or float32)."""
    scale = 255.0 if texture.dtype == torch.uint8 else 1.0
    tex = texture.float()
    th, tw = tex.shape[:2]
    u = uv.float() / 65535.0 if uv.dtype == torch.uint16 else uv.float()
    m = mask.float() * _mask_scale(mask) if mask.dtype != torch.float32 else mask
    ix0, ix1, fx = _axis(u[..., 0] * float(tw) - 0.5, tw)
    iy0, iy1, fy = _axis((1.0 - u[..., 1]) * float(th) - 0.5, th)
    fx, fy = fx[..., None], fy[..., None]
    a, b, c, d = tex[iy0, ix0], tex[iy0, ix1], tex[iy1, ix0], tex[iy1, ix1]
    top, bottom = a + fx * (b - a), c + fx * (d - c)
    val = top + fy * (bottom - top)
    cover = m * val[..., 3] * (1.0 / scale)
    inside = (m > 0)[..., None]
    if background is not None:
        g = background.float()
        out = torch.where(inside, g + cover[..., None] * (val[..., :3] - g), g)
    else:
        rgba = torch.cat([val[..., :3], (cover * scale)[..., None]], dim=-1)
        out = torch.where(inside, rgba, torch.zeros_like(rgba))
    if texture.dtype == torch.uint8:
        return out.round().clamp(0, 255).to(torch.uint8)
    return out


def feather(mask: np.ndarray, pixels: float) -> np.ndarray:
    """Soft edges: uint8 coverage rising from the silhouette's border to 255 over `pixels`
    pixels inside it (0 outside), for `retexture`'s mask. `pixels <= 0` gives the hard mask."""
    mask = np.asarray(mask, dtype=bool)
    if pixels <= 0:
        return mask.astype(np.uint8) * 255
    import cv2

    # distance (pixels) of each inside pixel to the nearest outside one: 1 on the border
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    return np.rint(np.clip(dist / (pixels + 1.0), 0.0, 1.0) * 255.0).astype(np.uint8)
