"""`gaussian_blur` as shifted multiply-adds against the single-channel convolutions it
replaced (kept here as the reference)."""

import math

import pytest
import torch
import torch.nn.functional as F

from billow.ops import gaussian_blur
from billow.ops.downsample import _gaussian_kernel, blur_sigma


def conv_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """The previous implementation: one single-channel convolution per axis."""
    dims = x.dim() - 2
    k = _gaussian_kernel(sigma, x.dtype, x.device)
    r = (k.numel() - 1) // 2
    conv = F.conv2d if dims == 2 else F.conv3d
    n, c = x.shape[:2]
    y = x.reshape(n * c, 1, *x.shape[2:])
    for axis in range(dims):
        shape = [1, 1] + [1] * dims
        shape[2 + axis] = k.numel()
        pad = [0, 0] * dims
        pad[2 * (dims - 1 - axis)] = r
        pad[2 * (dims - 1 - axis) + 1] = r
        y = conv(F.pad(y, pad, mode="replicate"), k.reshape(shape))
    return y.reshape(x.shape)


SIGMAS = (blur_sigma(4), blur_sigma(2), 1.0, 3.0)


@pytest.mark.parametrize("shape", [(1, 1, 37, 50, 29), (1, 1, 24, 24, 24), (1, 1, 64, 80),
                                   (1, 1, 5, 9)])
@pytest.mark.parametrize("sigma", SIGMAS)
def test_single_field_is_bit_identical(shape, sigma):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(len(shape))) * 3
    assert torch.equal(gaussian_blur(x, sigma), conv_blur(x, sigma))


@pytest.mark.parametrize("shape,sigma", [
    *[(s, sigma) for s in [(1, 3, 20, 18, 22), (2, 1, 17, 19), (2, 2, 12, 10, 14)]
      for sigma in SIGMAS],
    ((1, 1, 160, 160, 160), blur_sigma(4))])
def test_other_convolution_kernels_within_float_rounding(shape, sigma):
    # batched or large, the convolution runs as a blocked GEMM / oneDNN kernel with fused
    # multiply-adds: at most 2 ulps of the largest value apart
    x = torch.rand(shape, generator=torch.Generator().manual_seed(7)) * 3
    diff = (gaussian_blur(x, sigma) - conv_blur(x, sigma)).abs().max().item()
    assert diff <= 2 * torch.finfo(torch.float32).eps * 4


def test_gradient_flows_and_mass_is_kept():
    x = torch.rand(1, 2, 16, 16, 16, requires_grad=True)
    y = gaussian_blur(x, 1.5)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    # replicate padding: an interior bump keeps its mass
    z = torch.zeros(1, 1, 33, 33)
    z[0, 0, 16, 16] = 1.0
    assert math.isclose(gaussian_blur(z, 2.0).sum().item(), 1.0, rel_tol=1e-5)
