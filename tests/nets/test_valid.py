"""Core-only execution (`billow.nets.valid`, `forward_core` of the smooth and fast generators;
the paper generator, kept for comparison only, runs padded): a tile's window
gives exactly the middle of the padded pass over it, so tiles need not compute their halo."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from billow.nets import GeneratorConfig, build_generator
from billow.nets import valid


def _smooth(dim: int, kind: str = "smooth", **kw):
    torch.manual_seed(3)
    cfg = GeneratorConfig(generator=kind, dim=dim, width=8, blocks=2, mid_channels=4,
                          fine_channels=4, **kw)
    g = build_generator(cfg)
    with torch.no_grad():  # the last layer starts at zero: give every layer some content
        for p in g.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return cfg, g.eval()


def _tiled(g, x, tile: int, halo: int, core: bool):
    """Tile `x` (zeros beyond it, as the engine's tiler) and assemble the cores, computed
    core-only or as the middle of the padded pass."""
    dim = x.dim() - 2
    xp = torch.nn.functional.pad(x, (halo, halo) * dim)
    out = torch.zeros(x.shape[0], 1, *(4 * n for n in x.shape[2:]))
    starts = [range(0, n, tile) for n in x.shape[2:]]
    for lo in torch.cartesian_prod(*[torch.tensor(list(s)) for s in starts]).reshape(-1, dim):
        lo = [int(a) for a in lo]
        hi = [min(a + tile, n) for a, n in zip(lo, x.shape[2:])]
        win = xp[(slice(None), slice(None)) + tuple(slice(a, b + 2 * halo)
                                                    for a, b in zip(lo, hi))]
        with torch.no_grad():
            if core:
                y = g.forward_core(win, halo)
            else:
                y = g(win)[(slice(None), slice(None)) + (slice(4 * halo, -4 * halo),) * dim]
        out[(slice(None), slice(None)) + tuple(slice(4 * a, 4 * b) for a, b in zip(lo, hi))] = y
    return out


@pytest.mark.parametrize("kind, dim, size, tile, kw", [
    ("smooth", 2, (23, 17), 7, {}), ("smooth", 2, (23, 17), 5, {"use_vorticity": True}),
    ("smooth", 3, (11, 9, 13), 5, {}), ("smooth", 3, (11, 9, 13), 4, {"detail_gate": "speed"}),
    ("smooth", 3, (6, 7, 5), 16, {}),  # one tile larger than the block
    ("smooth", 3, (11, 9, 13), 5, {"detail_gate": "speed", "projection": "block"}),
    ("smooth", 2, (23, 17), 6, {"projection": "block"}),
    ("smooth", 3, (11, 9, 13), 5, {"detail_gate": "speed", "projection": "block",
                                   "projection_steps": 3, "base_interpolation": "tricubic"}),
    ("smooth", 2, (23, 17), 6, {"projection": "block", "projection_steps": 2,
                                "base_interpolation": "tricubic"}),
    ("smooth", 3, (11, 9, 13), 5, {"detail_gate": "speed", "projection": "block",
                                   "output_form": "gain"}),
    ("smooth", 2, (23, 17), 6, {"projection": "block", "projection_steps": 2,
                                "output_form": "gain"}),
    ("smooth", 3, (11, 9, 13), 5, {"detail_gate": "speed", "projection": "block",
                                   "output_form": "gain", "base_interpolation": "smooth"}),
    ("smooth", 2, (23, 17), 6, {"projection": "block", "projection_steps": 3,
                                "output_form": "gain", "base_interpolation": "smooth"}),
    ("smooth", 3, (11, 9, 13), 5, {"detail_gate": "speed", "projection": "block",
                                   "base_interpolation": "smooth"}),  # clamp form
    ("smooth", 3, (11, 9, 13), 5, {"detail_gate": "speed", "projection": "block",
                                   "projection_steps": 2, "output_form": "gain",
                                   "base_interpolation": "smooth", "tail_upsampling": "smooth"}),
    ("smooth", 2, (23, 17), 6, {"use_vorticity": True, "tail_upsampling": "smooth"}),
    ("smooth", 3, (11, 9, 13), 5, {"detail_gate": "speed", "projection": "block",
                                   "projection_steps": 2, "output_form": "gain",
                                   "base_interpolation": "smooth", "tail_upsampling": "smooth",
                                   "lattice_notch": True}),
    ("smooth", 2, (23, 17), 6, {"projection": "block", "output_form": "gain",
                                "lattice_notch": True}),
    ("smooth", 3, (6, 7, 5), 16, {"projection": "block", "output_form": "gain",
                                  "lattice_notch": True}),  # one tile larger than the block
    ("fast", 2, (23, 17), 6, {"use_vorticity": True}), ("fast", 3, (11, 9, 13), 5, {})])
def test_core_only_tiles_equal_the_padded_pass(kind, dim, size, tile, kw):
    cfg, g = _smooth(dim, kind, **kw)
    x = torch.rand(1, cfg.in_channels, *size)
    x[:, 1:] -= 0.5
    h = g.receptive_radius
    with torch.no_grad():
        whole = g(torch.nn.functional.pad(x, (h, h) * dim))
    whole = whole[(slice(None), slice(None)) + (slice(4 * h, -4 * h),) * dim]
    core = _tiled(g, x, tile, h, core=True)
    padded = _tiled(g, x, tile, h, core=False)
    assert float(core.abs().max()) > 0.1
    # torch picks convolution algorithms per shape, so equal up to float32 rounding here
    # (bit for bit with ONNX Runtime, the default: tests/infer/test_core_only.py)
    tol = 1e-6 * float(whole.abs().max())
    # the lattice notch divides by per-phase levels, which magnifies that rounding a little
    rtol = 1e-4 if kw.get("lattice_notch") else 1e-5
    torch.testing.assert_close(core, padded, rtol=rtol, atol=tol)
    torch.testing.assert_close(core, whole, rtol=rtol, atol=tol)


def test_a_larger_halo_is_cropped_and_a_smaller_one_refused():
    cfg, g = _smooth(3)
    h = g.receptive_radius
    x = torch.rand(1, cfg.in_channels, *(2 * h + 6,) * 3)
    with torch.no_grad():
        want = g.forward_core(x, h)[(slice(None), slice(None)) + (slice(4, -4),) * 3]
        # one more cell of halo is cropped before anything runs on it
        torch.testing.assert_close(g.forward_core(x, h + 1), want, rtol=1e-5,
                                   atol=1e-6 * float(want.abs().max()))
        with pytest.raises(ValueError, match="halo is too small"):
            g.forward_core(x[..., 1:-1, 1:-1, 1:-1], h - 1)


@pytest.mark.parametrize("dim", [2, 3])
def test_margin_keeps_output_cells_beyond_the_core(dim):
    """`margin`: a step after the generator (a projection onto block means, say) can ask for
    output cells beyond the core, and they are the padded pass's cells too."""
    cfg, g = _smooth(dim)
    h = g.receptive_radius + 1
    x = torch.rand(1, cfg.in_channels, *(2 * h + 5,) * dim)
    with torch.no_grad():
        padded = g(x)
        got = g.forward_core(x, h, margin=4)
    cut = 4 * h - 4
    torch.testing.assert_close(got, padded[(slice(None), slice(None))
                                           + (slice(cut, -cut),) * dim], rtol=1e-5,
                               atol=1e-6 * float(padded.abs().max()))


@pytest.mark.parametrize("kind, blocks, vort, tail", [
    ("smooth", 0, False, "linear"), ("smooth", 3, False, "linear"), ("smooth", 2, True, "linear"),
    ("smooth", 3, False, "smooth"), ("smooth", 2, True, "smooth"), ("fast", 3, True, "linear")])
def test_receptive_radius_is_what_the_core_only_stages_use_up(kind, blocks, vort, tail):
    """The declared halo (what cards carry and `card_check` measures) is exactly the margin
    the core-only pass consumes: not one cell of halo computed for nothing."""
    cfg = GeneratorConfig(generator=kind, dim=3, width=4, blocks=blocks, mid_channels=2,
                          fine_channels=2, use_vorticity=vort, tail_upsampling=tail)
    g = build_generator(cfg)
    to_mid = 1 if kind == "smooth" else 0  # the smooth tail starts with a low-res conv
    used = g.fields.radius + 1 + 2 * blocks + to_mid + valid.need(g.tail, 0)
    assert g.receptive_radius == used


def test_need_and_interpolation_costs():
    # x2 linear: output cells 1 .. 2n - 2 of n input cells see no clamped border
    assert valid.need([("interp", 2)], 0) == 1 and valid.need([("interp", 2)], 1) == 1
    assert valid.need([("interp", 2)], 2) == 2 and valid.need([("interp", 4)], 2) == 1
    assert valid.need([("conv", 1), ("interp", 2), ("conv", 1)], 0) == 2
    assert valid.need([("conv", 1), ("shuffle", 2), ("conv", 1)], 0) == 2
    x = valid.Margin(torch.rand(1, 1, 10, 10), 3)
    y = valid.interp(x, 2)
    assert y.m == 5 and y.t.shape[-1] == 2 * 4 + 2 * 5
    with pytest.raises(ValueError):
        valid.need([("blur", 1)], 0)


def test_the_documented_block_mean_projection_in_core_only_form():
    """The final step the module docstring sketches (a projection of the output onto the
    input's block means) composes from the stages: core-only equals the padded form."""
    import torch.nn.functional as F

    cfg, g = _smooth(3)
    whole = build_generator(dataclasses.replace(cfg, projection="block"))
    whole.load_state_dict(g.state_dict())  # the option itself, same weights
    k = valid.need([("interp", 4)], 0)
    halo = g.receptive_radius + k
    x = torch.rand(1, cfg.in_channels, *(2 * halo + 5,) * 3)

    def padded(t):
        y0 = g(t)
        return F.relu(y0 + valid.interpolate_linear(t[:, :1] - F.avg_pool3d(y0, 4), 4))

    with torch.no_grad():
        want = padded(x)[(slice(None), slice(None)) + (slice(4 * halo, -4 * halo),) * 3]
        y0 = valid.Margin(g.forward_core(x, halo, margin=4 * k), 4 * k, 4)
        low = valid.add(valid.Margin(x[:, :1], halo), valid.pool(y0, 4).map(torch.neg))
        got = valid.add(y0, valid.interp(low, 4)).crop(0).map(F.relu).t
    # float32 rounding of torch's per-shape convolution algorithms, amplified by the
    # difference x - pool(y0) (a wrong block would be off by the order of the values)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * float(want.abs().max()))
    assert valid.need([("pool", 4), ("interp", 4)], 0) == 4
    assert whole.receptive_radius == halo
    with torch.no_grad():
        torch.testing.assert_close(whole(x), padded(x))
        torch.testing.assert_close(whole.forward_core(x, halo), want, rtol=1e-5,
                                   atol=1e-5 * float(want.abs().max()))
