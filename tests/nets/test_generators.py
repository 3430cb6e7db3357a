"""Generators: App. A.1 faithfulness, shapes, alignment, and seam-free tiling with the halo."""

from __future__ import annotations

import itertools

import pytest
import torch
from billow.nets import (
    GeneratorConfig,
    PaperGenerator,
    SpatialDiscriminator,
    TemporalDiscriminator,
    build_generator,
    voxel_shuffle,
)
from billow.ops.upsample import interpolate_linear


def _weights(model) -> int:
    """Convolution and fully connected weights + biases (App. A.2 counts no BN parameters)."""
    return sum(p.numel() for n, p in model.named_parameters() if not n.split(".")[-2]
               .startswith("bn") and "norms" not in n)


@pytest.mark.parametrize("dim, vort, g_count, ds_count, dt_count", [
    (2, True, 634214, 706017, 706529),   # App. A.2 2D standard model, in(16, 4) = rho, v, w
    (3, False, 3148014, 2888161, 2890209),  # App. A.2 3D standard model, in(16, 4) = rho, v
])
def test_paper_weight_counts_match_appendix(dim, vort, g_count, ds_count, dt_count):
    cfg = GeneratorConfig(generator="paper", dim=dim, use_vorticity=vort)
    assert _weights(PaperGenerator(cfg)) == g_count
    assert _weights(SpatialDiscriminator(dim, 64, norm="bn")) == ds_count
    assert _weights(TemporalDiscriminator(dim, 64, norm="bn")) == dt_count


@pytest.mark.parametrize("kind, dim", list(itertools.product(["fast", "smooth", "paper"],
                                                              [2, 3])))
def test_shapes(kind, dim):
    cfg = GeneratorConfig(generator=kind, dim=dim, width=8, blocks=1, mid_channels=4)
    g = build_generator(cfg).eval()
    size = (5, 6, 3)[:dim]
    x = torch.rand(2, cfg.in_channels, *size)
    with torch.no_grad():
        y = g(x)
    assert y.shape == (2, 1, *(4 * s for s in size))
    assert (y >= 0).all()


@pytest.mark.parametrize("kind", ["fast", "smooth"])
def test_generator_starts_as_aligned_linear_upsampling(kind):
    """Zero-initialised residual: the output is the cell-centred linear interpolation, whose
    mean over each 4^D block reproduces a linear ramp's cell value (no half-cell shift)."""
    cfg = GeneratorConfig(generator=kind, dim=2, width=8, blocks=1)
    g = build_generator(cfg).eval()
    ramp = torch.arange(8.0).reshape(8, 1).expand(8, 6) + 1.0
    x = torch.cat([ramp[None, None], torch.zeros(1, 2, 8, 6)], dim=1)
    y = g(x)[0, 0]
    blocks = y.reshape(8, 4, 6, 4).mean(dim=(1, 3))
    assert torch.allclose(blocks[1:-1], ramp[1:-1], atol=1e-5)


def test_voxel_shuffle_offsets():
    x = torch.arange(8.0).reshape(1, 8, 1, 1, 1)
    y = voxel_shuffle(x, 2)[0, 0]
    for i, j, k in itertools.product(range(2), repeat=3):
        assert y[i, j, k] == (i * 2 + j) * 2 + k


def _tiled(g, x, tile: int, halo: int) -> torch.Tensor:
    """Reference tiling: each tile with `halo` input cells of context, crop, paste."""
    f = 4
    dims = x.dim() - 2
    out = torch.zeros(x.shape[0], 1, *(f * s for s in x.shape[2:]))
    starts = [range(0, s, tile) for s in x.shape[2:]]
    for corner in itertools.product(*starts):
        src, dst, keep = [], [], []
        for a, s in zip(corner, x.shape[2:]):
            lo, hi = max(a - halo, 0), min(a + tile + halo, s)
            src.append(slice(lo, hi))
            dst.append(slice(f * a, f * min(a + tile, s)))
            keep.append(slice(f * (a - lo), f * (a - lo) + f * (min(a + tile, s) - a)))
        y = g(x[(slice(None), slice(None), *src)])
        out[(slice(None), slice(None), *dst)] = y[(slice(None), slice(None), *keep)]
    assert len(dst) == dims
    return out


@pytest.mark.parametrize("kind, dim, vort, blocks, size", [
    ("fast", 2, True, 2, (40, 29)), ("fast", 3, False, 1, (15, 13, 12)),
    ("smooth", 2, True, 2, (40, 29)), ("smooth", 3, False, 1, (15, 13, 12)),
    ("smooth-gated", 3, False, 1, (15, 13, 12)), ("smooth-projected", 3, False, 1, (15, 13, 12)),
    ("smooth-projected", 2, True, 1, (40, 29)), ("paper", 2, False, 0, (19, 14))])
def test_tiled_equals_whole_volume(kind, dim, vort, blocks, size):
    torch.manual_seed(0)
    kind, variant = (kind.split("-") + [""])[:2]
    cfg = GeneratorConfig(generator=kind, dim=dim, width=8, blocks=blocks, mid_channels=4,
                          use_vorticity=vort, detail_gate="speed" if variant else "none",
                          projection="block" if variant == "projected" else "none")
    g = build_generator(cfg)
    # give the zero-initialised last layer and BN statistics some content (more for the
    # smooth generator, whose outermost halo cells reach the output through four small layers)
    with torch.no_grad():
        for p in g.parameters():
            p.add_((0.2 if kind == "smooth" else 0.05) * torch.randn_like(p))
    g.eval()
    x = torch.rand(1, cfg.in_channels, *size)
    with torch.no_grad():
        whole = g(x)
        tiled = _tiled(g, x, tile=6, halo=g.receptive_radius)
        short = _tiled(g, x, tile=6, halo=g.receptive_radius - 2)
    assert torch.allclose(tiled, whole, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(short, whole, atol=1e-5, rtol=1e-5)  # the halo is needed


def _randomised(kind: str, dim: int, **kw):
    torch.manual_seed(1)
    cfg = GeneratorConfig(generator=kind, dim=dim, width=8, blocks=1, mid_channels=4,
                          fine_channels=4, **kw)
    g = build_generator(cfg)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return cfg, g.eval()


@pytest.mark.parametrize("kind, dim, vort, gate, projection", [
    ("fast", 2, True, "none", "none"), ("smooth", 2, True, "none", "none"),
    ("smooth", 3, False, "none", "none"), ("smooth", 3, False, "speed", "none"),
    ("smooth", 3, False, "speed", "block"), ("smooth", 2, False, "none", "block"),
    ("smooth", 3, False, "speed", "block3-tricubic"),
    ("smooth", 2, False, "none", "block2-tricubic"),
    ("smooth", 3, False, "speed", "block2-smooth-gain"),
    ("smooth", 2, False, "none", "block3-smooth-gain"),
    ("smooth", 3, False, "speed", "block2-smooth-gain-tail"),
    ("smooth", 3, False, "speed", "block2-smooth-gain-tail-notch"),
    ("smooth", 2, False, "none", "block1-smooth-gain-notch"),
    ("smooth", 2, True, "none", "none-tail"),
    ("smooth", 3, False, "speed", "block2-smooth-clamp"),
    ("paper", 2, False, "none", "none")])
def test_receptive_radius_covers_the_measured_impulse_response(kind, dim, vort, gate,
                                                               projection):
    """The card's halo is the declared radius: exactly as far as a change of one input cell
    actually travels (measured, not derived)."""
    kw = {}
    if projection.endswith("-notch"):  # the lattice notch after the projection
        kw["lattice_notch"] = True
        projection = projection[: -len("-notch")]
    if projection.endswith("-tail"):  # the smooth x2 up-samplings after the trunk
        kw["tail_upsampling"] = "smooth"
        projection = projection[: -len("-tail")]
    if projection.endswith("tricubic"):
        kw |= {"projection_steps": int(projection[5]), "base_interpolation": "tricubic"}
        projection = "block"
    elif "smooth" in projection:
        kw |= {"projection_steps": int(projection[5]), "base_interpolation": "smooth",
               "output_form": projection.rsplit("-", 1)[1]}
        projection = "block"
    cfg, g = _randomised(kind, dim, use_vorticity=vort, detail_gate=gate,
                         projection=projection, **kw)
    n = 2 * g.receptive_radius + 5
    x = torch.rand(1, cfg.in_channels, *([n] * dim))
    bumped = x.clone()
    bumped[(0, slice(None)) + (n // 2,) * dim] += 1.0
    with torch.no_grad():
        diff = (g(bumped) - g(x)).abs()[0, 0]
    reach = 0  # low-res cells between the bumped cell and the farthest cell whose output moved
    for axis in range(dim):
        other = tuple(a for a in range(dim) if a != axis)
        hit = torch.nonzero(diff.sum(dim=other) > 0)[:, 0] // 4
        reach = max(reach, int((hit - n // 2).abs().max()))
    assert reach > 0
    assert reach == g.receptive_radius  # not larger than needed either: tiles pay for it


@pytest.mark.parametrize("dim", [2, 3])
def test_smooth_generator_has_no_lattice_by_construction(dim):
    """A constant input must give a constant output: resize-convolutions share their weights
    over the 4^D sub-voxel phases, while a sub-voxel shuffle gives each phase its own weights
    and prints a 4-voxel lattice over uniform smoke (the failure seen on third-party smoke)."""
    results = {}
    extra = {"cubic": {"projection_steps": 3, "base_interpolation": "tricubic"},
             "gain": {"projection_steps": 2, "base_interpolation": "smooth",
                      "output_form": "gain"}}
    for kind in ("fast", "smooth", "smooth-gated", "smooth-projected", "smooth-cubic",
                 "smooth-gain"):
        cfg, g = _randomised(kind.split("-")[0], dim,
                             detail_gate="speed" if kind.endswith("gated") else "none",
                             projection=("block" if kind.endswith(("projected", "cubic", "gain"))
                                         else "none"),
                             **extra.get(kind.split("-")[-1], {}))
        n = 2 * g.receptive_radius + 4
        x = torch.cat([torch.full((1, 1, *([n] * dim)), 0.6),
                       torch.full((1, dim, *([n] * dim)), 0.3)], dim=1)
        with torch.no_grad():
            y = g(x)[0, 0]
        m = 4 * g.receptive_radius  # interior: no border effects
        inner = y[(slice(m, -m),) * dim]
        results[kind] = float(inner.std() / inner.mean())
    assert results["smooth"] < 1e-5
    assert results["smooth-gated"] < 1e-5
    assert results["smooth-projected"] < 1e-5
    assert results["smooth-cubic"] < 1e-5
    assert results["smooth-gain"] < 1e-5
    assert results["fast"] > 1e-3  # the check is able to see a lattice


@pytest.mark.parametrize("dim", [2, 3])
def test_block_projection_keeps_the_input_density(dim):
    """With `projection: block` the total density is the input's whatever the (here random)
    detail does: exactly where the final clamp does not act (dense smoke), and the clamp can
    only add; the 4^D block means move towards the input cells' values (one smooth step, not
    a block-constant one, so they are pulled closer, not pinned)."""
    torch.manual_seed(3)
    n = (10, 9, 8)[:dim]
    dense = torch.cat([0.5 + 0.5 * torch.rand(1, 1, *n), torch.randn(1, dim, *n)], dim=1)
    errors, mass = {}, {}
    for projection in ("none", "block", "block3"):
        steps = {"projection_steps": 3} if projection == "block3" else {}
        cfg, g = _randomised("smooth", dim, detail_gate="speed", projection=projection[:5],
                             **steps)
        with torch.no_grad():
            g.out.weight.mul_(0.01)  # detail smaller than the density: no clamp
            g.out.bias.fill_(0.1)  # and density added everywhere (a mass error)
            y = g(dense)[0, 0]
        assert (y > 0).all()  # no clamp acted
        block = y.reshape(*[s for m in n for s in (m, 4)]).mean(dim=tuple(range(1, 2 * dim, 2)))
        errors[projection] = float((block - dense[0, 0]).abs().mean())
        mass[projection] = float(y.sum()) / (4 ** dim * float(dense[0, 0].sum()))
    assert abs(mass["none"] - 1) > 1e-2  # the random detail does change the mass
    assert abs(mass["block"] - 1) < 1e-5 and abs(mass["block3"] - 1) < 1e-5
    assert errors["block"] < 0.75 * errors["none"]  # white-noise input: the hardest case
    assert errors["block3"] < 0.75 * errors["block"]  # each step pulls them closer
    thin = dense.clone()
    thin[:, :1] *= torch.rand_like(thin[:, :1]) < 0.3  # sparse smoke: the clamp acts
    with torch.no_grad():
        y = g(thin)[0, 0]
    assert float(y.sum()) >= 4 ** dim * float(thin[0, 0].sum()) * (1 - 1e-5)


def test_speed_gate_values():
    """g(u) = 3u / (u + 2): none for still smoke, 1 at the frame's typical speed, half as much
    again at twice it, bounded; direction-independent."""
    from billow.nets.generators import speed_gate

    for u, want in [(0.0, 0.0), (1.0, 1.0), (2.0, 1.5), (1e6, 3.0)]:
        v = torch.zeros(1, 3, 2, 2, 2)
        v[:, 1] = -u  # along y, negative: only the speed counts
        g = speed_gate(v, 4)
        assert g.shape == (1, 1, 8, 8, 8)
        assert torch.allclose(g, torch.full_like(g, want), rtol=1e-5, atol=1e-5), (u, g.max())


def test_speed_gate_makes_the_velocity_scale_steer_detail():
    """Gated output = ReLU(base + structure residual + g(speed) x detail residual): with the
    velocity scaled to 0 (the slider at 0) the detail residual's weights no longer matter, at
    1 they do; so the slider always reaches the detail branch."""
    from billow.nets.generators import speed_gate

    cfg, g = _randomised("smooth", 3, detail_gate="speed")
    torch.manual_seed(2)
    x = torch.cat([torch.rand(1, 1, 10, 10, 10), torch.randn(1, 3, 10, 10, 10)], dim=1)
    captured = {}
    g.out.register_forward_hook(lambda m, i, o: captured.update(r=o))
    with torch.no_grad():
        y = g(x)
        base = torch.nn.functional.interpolate(x[:, :1], scale_factor=4, mode="trilinear")
        r = captured["r"]
        assert r.shape[1] == 2
        want = torch.relu(base + r[:, :1] + speed_gate(x[:, 1:], 4) * r[:, 1:])
        assert torch.allclose(y, want, atol=1e-6)
        still = x.clone()
        still[:, 1:] = 0
        before = {0: g(still), 1: g(x)}
        g.out.weight[1:].mul_(3.0)
        g.out.bias[1:].add_(0.5)
        assert torch.equal(g(still), before[0])
        assert not torch.allclose(g(x), before[1], atol=1e-4)


def test_the_detail_channel_reaches_only_the_speed_gate():
    """Gated models take the slider as their own last channel, `detail`: it multiplies the
    speed the gate reads and nothing else. Absent (as in training) it is 1; at any value the
    trunk's residuals are the ones it makes of the unscaled flow, which scaling the velocity
    itself would change (issue 17: s10's trunk inverted the slider that way); the core-only
    pass of tiled inference reads it the same way."""
    from billow.nets.generators import DETAIL_CHANNEL, speed_gate

    cfg, g = _randomised("smooth", 3, detail_gate="speed", projection="block")
    assert cfg.channel_names[-1] == DETAIL_CHANNEL and cfg.in_channels == 5
    assert "detail" not in _randomised("smooth", 3)[0].channel_names
    torch.manual_seed(3)
    n = 2 * g.receptive_radius + 3
    x = torch.cat([torch.rand(1, 1, n, n, n), torch.randn(1, 3, n, n, n)], dim=1)
    factor = 2.0 * torch.rand(1, 1, n, n, n)  # a per-voxel slider, as a mask makes it
    seen = []
    g.out.register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        trained = g(x)
        assert torch.equal(g(torch.cat([x, torch.ones_like(factor)], 1)), trained)
        y = g(torch.cat([x, factor], 1))
        assert torch.equal(seen[-1], seen[0])  # the trunk made the same residuals
        assert not torch.allclose(y, trained, atol=1e-3)
        r = seen[0]
        want = torch.relu(interpolate_linear(x[:, :1], 4) + r[:, :1]
                          + speed_gate(x[:, 1:] * factor, 4) * r[:, 1:])
        assert torch.allclose(y, g.project(want, x[:, :1]), rtol=1e-5, atol=1e-4)
        scaled = x.clone()
        scaled[:, 1:] *= 2.0
        g(scaled)
        assert not torch.allclose(seen[-1], seen[0], atol=1e-4)  # what the slider used to do
        h = g.receptive_radius
        core = g.forward_core(torch.cat([x, factor], 1), h)
        assert torch.allclose(core, y[:, :, 4 * h: -4 * h, 4 * h: -4 * h, 4 * h: -4 * h],
                              atol=1e-6)
