"""Differentiable warps between image and texture space (dissertation Eq. 5.1-5.2).

    T_t = W(I_t, omega_T(P_t))     image -> texture: `splat`
    I'_t = W(T_t, omega_I(P_t))    texture -> image: `sample`

Both work on batched torch tensors with the one layout of `billow.uv.atlas`: global UVs
`uv[..., 0] = u`, `uv[..., 1] = v` in [0, 1], v up, texel centres at
`u = (x + 0.5) / W`, `v = 1 - (y + 0.5) / H`. Both are plain autograd graphs, so the gradient
of an image loss reaches the UV coordinates through the sampling grid and through the splatted
texture alike; that is Eq. 5.5-5.9 without writing the chain rule by hand.

Splatting normalises by the accumulated bilinear weight: a texel hit by several pixels gets
their weighted mean, never the value of whichever pixel was written last (the public
temporalUV code's bug).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import atlas

_EPS = 1e-8
_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


def default_texture_size(image_hw: tuple[int, int]) -> tuple[int, int]:
    """Atlas size `(6 T, 4 T)` for frames of `image_hw`: tile `T = max(H, W) / 2`, rounded to a
    multiple of 8, between 16 and 256.

    A body part covers a small fraction of the frame, and loose garments are extended into the
    free space left in their neighbours' tiles; T = max(H, W) / 2 leaves enough texels there
    for a garment to keep its detail (256x256 frames -> T = 128, a 768x512 atlas, the
    synthetic benchmark's own texture size). The cap keeps batched textures of HD frames in
    memory (T = 256, near DensePose's 200).
    """
    t = min(256, max(16, 8 * round(max(image_hw) / 16.0)))
    return atlas.ROWS * t, atlas.COLS * t


def _grid(uv: torch.Tensor) -> torch.Tensor:
    # grid_sample with align_corners=False puts texel x's centre at (2x + 1) / W - 1; with
    # x = u W - 0.5 (atlas.texel_xy) that is 2u - 1, and y = (1 - v) H - 0.5 gives 1 - 2v.
    return torch.stack([2.0 * uv[..., 0] - 1.0, 1.0 - 2.0 * uv[..., 1]], dim=-1)


def sample(texture: torch.Tensor, uv: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Texture -> image (Eq. 5.2, right): bilinear lookup of `texture [N|1, C, Ht, Wt]` at
    `uv [N, H, W, 2]`, zero outside `mask [N, H, W]`. Returns `[N, C, H, W]`.

    A single texture (N = 1) is shared by all frames (the constant texture T_o).
    """
    n = uv.shape[0]
    if texture.shape[0] == 1 and n > 1:
        texture = texture.expand(n, -1, -1, -1)
    out = F.grid_sample(texture, _grid(uv.to(texture.dtype)), mode="bilinear",
                        padding_mode="border", align_corners=False)
    return out * mask[:, None].to(out.dtype)


def splat(image: torch.Tensor, uv: torch.Tensor, mask: torch.Tensor,
          size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Image -> texture (Eq. 5.2, left): each masked pixel of `image [N, C, H, W]` is spread
    over the 4 texels around its `uv` with bilinear weights, then every texel is divided by its
    accumulated weight. Returns `(texture [N, C, Ht, Wt], weight [N, 1, Ht, Wt])`; texels that
    no pixel reached have weight 0 and value 0 (see `fill_holes`).
    """
    n, c, h, w = image.shape
    ht, wt = size
    dtype = image.dtype
    x = uv[..., 0].to(dtype) * wt - 0.5
    y = (1.0 - uv[..., 1].to(dtype)) * ht - 0.5
    x0, y0 = torch.floor(x).detach(), torch.floor(y).detach()
    fx, fy = x - x0, y - y0
    m = mask.to(dtype)
    idx, wgt = [], []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi < wt) & (yi >= 0) & (yi < ht)
        wgt.append((fx if dx else 1.0 - fx) * (fy if dy else 1.0 - fy) * m * inside.to(dtype))
        # out-of-range corners carry weight 0; clamping only keeps their index legal
        idx.append((yi.clamp(0, ht - 1) * wt + xi.clamp(0, wt - 1)).long())
    # one scatter for the four corners: the texture-sized buffers are the costly part
    idx = torch.stack(idx, 1).reshape(n, 1, 4 * h * w)
    wgt = torch.stack(wgt, 1).reshape(n, 1, 4 * h * w)
    values = image.reshape(n, c, 1, h * w).expand(n, c, 4, h * w).reshape(n, c, 4 * h * w)
    acc = image.new_zeros(n, c, ht * wt).scatter_add(2, idx.expand(n, c, -1), values * wgt)
    wsum = image.new_zeros(n, 1, ht * wt).scatter_add(2, idx, wgt)
    hit = (wsum > _EPS).to(dtype)
    texture = acc / wsum.clamp_min(_EPS) * hit
    return texture.reshape(n, c, ht, wt), wsum.reshape(n, 1, ht, wt)


def round_trip(image: torch.Tensor, uv: torch.Tensor, mask: torch.Tensor,
               size: tuple[int, int]) -> torch.Tensor:
    """`sample(splat(image, uv, mask, size)[0], uv, mask)` computed on the masked pixels only:
    the splat is gathered back at the same four texels of each pixel instead of building and
    dividing whole textures, which is what makes UV optimisation of long sequences cheap.
    Identical to the dense pair except at the outermost texels (where `sample` clamps)."""
    n, c, h, w = image.shape
    ht, wt = size
    dtype = image.dtype
    sel = mask.reshape(-1).nonzero().squeeze(1)
    frame = sel // (h * w)
    u = uv.reshape(-1, 2).to(dtype)[sel]
    vals = image.permute(0, 2, 3, 1).reshape(-1, c)[sel]
    x = u[:, 0] * wt - 0.5
    y = (1.0 - u[:, 1]) * ht - 0.5
    x0, y0 = torch.floor(x).detach(), torch.floor(y).detach()
    fx, fy = x - x0, y - y0
    idx, wgt = [], []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi < wt) & (yi >= 0) & (yi < ht)
        wgt.append((fx if dx else 1.0 - fx) * (fy if dy else 1.0 - fy) * inside.to(dtype))
        idx.append(frame * (ht * wt) + (yi.clamp(0, ht - 1) * wt + xi.clamp(0, wt - 1)).long())
    idx, wgt = torch.stack(idx, 1), torch.stack(wgt, 1)  # [P, 4]
    flat = idx.reshape(-1)
    acc = image.new_zeros(n * ht * wt, c)
    acc.index_add_(0, flat, (vals[:, None] * wgt[..., None]).reshape(-1, c))
    wsum = image.new_zeros(n * ht * wt)
    wsum.index_add_(0, flat, wgt.reshape(-1))
    texel = acc[flat].view(-1, 4, c) / wsum[flat].view(-1, 4, 1).clamp_min(_EPS)
    rec = (wgt[..., None] * texel).sum(1)
    out = image.new_zeros(n * h * w, c).index_copy(0, sel, rec)
    return out.view(n, h, w, c).permute(0, 3, 1, 2)


def _shift(t: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[..., y, x] = t[..., y + dy, x + dx], zero beyond the border."""
    h, w = t.shape[-2:]
    out = torch.zeros_like(t)
    ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
    xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    out[..., yd, xd] = t[..., ys, xs]
    return out


def _push_pull(tex: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Fill unknown texels of `tex [B, C, H, W]` from a pyramid of known-weighted averages:
    each hole takes the value of the finest level at which its neighbourhood has data."""
    h, w = tex.shape[-2:]
    if bool(known.all()) or (h == 1 and w == 1):
        return tex
    k = (2 if h > 1 else 1, 2 if w > 1 else 1)
    k2 = F.avg_pool2d(known, k, ceil_mode=True)
    t2 = F.avg_pool2d(tex * known, k, ceil_mode=True) / k2.clamp_min(_EPS)
    k2 = (k2 > 0).to(tex.dtype)
    if not bool(k2.any()):
        return tex
    coarse = _push_pull(t2 * k2, k2)
    up = F.interpolate(coarse, size=tex.shape[-2:], mode="nearest")
    return torch.where(known > 0, tex, up)


def _as_blocks(t: torch.Tensor) -> torch.Tensor:
    """[N, C, 6T, 4T] atlas -> [N * 24, C, T, T], one entry per tile."""
    n, c, h, w = t.shape
    th, tw = h // atlas.ROWS, w // atlas.COLS
    t = t.reshape(n, c, atlas.ROWS, th, atlas.COLS, tw).permute(0, 2, 4, 1, 3, 5)
    return t.reshape(n * atlas.ROWS * atlas.COLS, c, th, tw)


def _from_blocks(t: torch.Tensor, n: int) -> torch.Tensor:
    _, c, th, tw = t.shape
    t = t.reshape(n, atlas.ROWS, atlas.COLS, c, th, tw).permute(0, 3, 1, 4, 2, 5)
    return t.reshape(n, c, atlas.ROWS * th, atlas.COLS * tw)


def fill_holes(texture: torch.Tensor, weight: torch.Tensor, tiles=None,
               iterations: int | None = None) -> torch.Tensor:
    """Fill texels with zero `weight` from their surroundings (pull-push: a pyramid of
    weighted averages, each hole taking the finest level that has data around it).

    With `tiles` (`atlas.tile_index(size)`, an `[Ht, Wt]` array of part ids) a texel is only
    filled from texels of its own part, so colours never bleed across atlas seams; a part that
    no pixel reached stays zero. Atlas-shaped textures are filled tile by tile in one batch;
    other tile maps grow the known region ring by ring (`iterations` rings at most).
    Differentiable with respect to `texture`.
    """
    known = (weight > 0).to(texture.dtype)
    out = texture * known
    if tiles is None:
        return _push_pull(out, known)
    tiles = np.asarray(tiles)
    h, w = texture.shape[-2:]
    if h % atlas.ROWS == 0 and w % atlas.COLS == 0 \
            and np.array_equal(tiles, atlas.tile_index((h, w))):
        n = texture.shape[0]
        return _from_blocks(_push_pull(_as_blocks(out), _as_blocks(known)), n)
    return _grow(out, known > 0, tiles, iterations)


def _grow(out, known, tiles, iterations):
    """Ring-by-ring fill restricted to equal tile ids (any tile map)."""
    tid = torch.as_tensor(tiles, device=out.device)
    same = [_shift(tid, dy, dx) == tid for dy, dx in _NEIGHBOURS]
    limit = iterations if iterations is not None else sum(out.shape[-2:])
    for _ in range(limit):
        holes = ~known
        if not bool(holes.any()):
            break
        total = torch.zeros_like(out)
        count = torch.zeros_like(known, dtype=out.dtype)
        for k, (dy, dx) in enumerate(_NEIGHBOURS):
            nkf = (_shift(known, dy, dx) & same[k]).to(out.dtype)
            total = total + _shift(out, dy, dx) * nkf
            count = count + nkf
        grow = holes & (count > 0)
        if not bool(grow.any()):
            break
        out = torch.where(grow, total / count.clamp_min(1.0), out)
        known = known | grow
    return out


def to_torch_uv(uv: np.ndarray, mask: np.ndarray, device="cpu", dtype=torch.float32):
    """numpy `(uv [..., H, W, 2], mask [..., H, W])` from `billow.uv.io` to batched tensors."""
    u = torch.as_tensor(np.asarray(uv), dtype=dtype, device=device)
    m = torch.as_tensor(np.asarray(mask, dtype=bool), device=device)
    if u.ndim == 3:
        u, m = u[None], m[None]
    return u, m


def to_torch_image(img: np.ndarray, device="cpu", dtype=torch.float32) -> torch.Tensor:
    """numpy `[..., H, W, C]` images to `[N, C, H, W]` tensors."""
    t = torch.as_tensor(np.asarray(img), dtype=dtype, device=device)
    if t.ndim == 3:
        t = t[None]
    return t.permute(0, 3, 1, 2).contiguous()


def to_numpy_image(t: torch.Tensor) -> np.ndarray:
    """`[N, C, H, W]` tensors to numpy `[N, H, W, C]` float32."""
    return t.detach().permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)
