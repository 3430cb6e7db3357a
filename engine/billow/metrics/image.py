"""2D image-sequence metrics for re-texturing and for rendered previews: PSNR, SSIM, and the
temporal metrics of TecoGAN (Chu et al. 2020) that the dissertation's chapter 5 uses:

- tOF: mean L1 distance between the optical flow of the result and of the reference between
  consecutive frames, ||OF(g^{t-1}, g^t) - OF(b^{t-1}, b^t)||_1 (OpenCV Farneback flow);
- T-diff: mean |g^t - W(g^{t-1}, f^t)|, the frame difference after warping the previous frame
  with the flow f^t estimated on the reference (or on the sequence itself without one);
- tLP: |LPIPS(g^{t-1}, g^t) - LPIPS(b^{t-1}, b^t)|, only with user-supplied LPIPS weights: billow
  cannot download them (`load_lpips`).

Images are `[H, W]` or `[H, W, C]` arrays with values in [0, data_range].
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError, MissingDependencyError

LPIPS_HELP = ("tLP/LPIPS needs the LPIPS network weights, which billow cannot download: pass "
              "--lpips-weights FILE, a TorchScript module that maps two (N, 3, H, W) images in "
              "[-1, 1] to their LPIPS distance (e.g. exported with torch.jit.script from the "
              "'lpips' package)")


def _cv2():
    try:
        import cv2
    except ImportError as e:
        raise MissingDependencyError("optical-flow metrics (tOF, T-diff) need OpenCV: "
                                     "pip install opencv-python-headless") from e
    return cv2


def _as_float(img) -> np.ndarray:
    a = np.asarray(img, dtype=np.float32)
    if a.ndim not in (2, 3):
        raise ValueError(f"expected an [H, W] or [H, W, C] image, got shape {a.shape}")
    return a


def psnr_image(a, b, data_range: float = 1.0) -> float:
    a, b = _as_float(a), _as_float(b)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def ssim(a, b, data_range: float = 1.0) -> float:
    """Structural similarity (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, K = 0.01,
    0.03, averaged over the valid window positions and the channels."""
    a, b = _as_float(a), _as_float(b)
    if a.shape != b.shape:
        raise ValueError(f"ssim: shapes {a.shape} and {b.shape} differ")
    x = torch.from_numpy(a if a.ndim == 3 else a[..., None]).permute(2, 0, 1)[:, None]
    y = torch.from_numpy(b if b.ndim == 3 else b[..., None]).permute(2, 0, 1)[:, None]
    g = torch.exp(-0.5 * ((torch.arange(11, dtype=torch.float32) - 5) / 1.5) ** 2)
    g = g / g.sum()
    win = (g[:, None] * g[None, :])[None, None]
    size = min(11, *x.shape[-2:])
    if size < 11:  # tiny images: a smaller window, still normalised
        win = F.adaptive_avg_pool2d(win, size)
        win = win / win.sum()

    def filt(z):
        return F.conv2d(z, win)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = filt(x), filt(y)
    sxx = filt(x * x) - mx * mx
    syy = filt(y * y) - my * my
    sxy = filt(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def _gray_u8(img, data_range: float) -> np.ndarray:
    a = _as_float(img)
    if a.ndim == 3:
        a = a[..., :3].mean(-1)
    return np.clip(a / data_range * 255.0 + 0.5, 0, 255).astype(np.uint8)


def optical_flow(prev, nxt, data_range: float = 1.0) -> np.ndarray:
    """Dense Farneback flow [H, W, 2] (dx, dy in pixels) with prev(p) ~ nxt(p + flow(p))."""
    cv2 = _cv2()
    return cv2.calcOpticalFlowFarneback(_gray_u8(prev, data_range), _gray_u8(nxt, data_range),
                                        None, 0.5, 3, 15, 3, 5, 1.2, 0)


def warp(img, flow) -> np.ndarray:
    """img sampled at p + flow(p) (bilinear, border replicated)."""
    cv2 = _cv2()
    a = _as_float(img)
    h, w = a.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(a, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def tof(prev, cur, ref_prev, ref_cur, data_range: float = 1.0) -> float:
    """Mean |OF(g^{t-1}, g^t) - OF(b^{t-1}, b^t)|_1 per pixel, in pixels."""
    fg = optical_flow(prev, cur, data_range)
    fb = optical_flow(ref_prev, ref_cur, data_range)
    return float(np.abs(fg - fb).sum(-1).mean())


def tdiff(prev, cur, ref_prev=None, ref_cur=None, data_range: float = 1.0) -> float:
    """Mean |g^t - W(g^{t-1})|: the previous frame warped onto the current one with the flow
    from t to t-1 of the reference (or of the sequence itself when no reference is given)."""
    a, b = (cur, prev) if ref_cur is None else (ref_cur, ref_prev)
    back = optical_flow(a, b, data_range)  # cur(p) ~ prev(p + back(p))
    return float(np.abs(_as_float(cur) - warp(prev, back)).mean())


def load_lpips(path: str | Path | None):
    """A TorchScript LPIPS module from a local file; MissingDependencyError without one."""
    if not path:
        raise MissingDependencyError(LPIPS_HELP)
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such LPIPS weights file")
    try:
        with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript, still loads it
            warnings.simplefilter("ignore", DeprecationWarning)
            model = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as e:
        raise InputError(f"{path}: not a TorchScript LPIPS module ({e.__class__.__name__}); "
                         + LPIPS_HELP) from e
    return model.eval()


def _lpips_input(img, data_range: float) -> torch.Tensor:
    a = _as_float(img) / data_range * 2.0 - 1.0
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(a[..., :3])).permute(2, 0, 1)[None]


def tlp(model, prev, cur, ref_prev, ref_cur, data_range: float = 1.0) -> float:
    """|LPIPS(g^{t-1}, g^t) - LPIPS(b^{t-1}, b^t)| with a model from `load_lpips`."""
    with torch.no_grad():
        dg = float(model(_lpips_input(prev, data_range), _lpips_input(cur, data_range)).mean())
        db = float(model(_lpips_input(ref_prev, data_range),
                         _lpips_input(ref_cur, data_range)).mean())
    return abs(dg - db)
