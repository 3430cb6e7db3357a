"""The curl of `billow.ops`: axes and signs on rigid rotations, and the solver's torch reference
of vorticity confinement built on it."""

from __future__ import annotations

import torch
from billow.ops import central_difference, curl


def test_curl_axes():
    n = 7
    c = torch.arange(n, dtype=torch.float64) - 3
    x, y = torch.meshgrid(c, c, indexing="ij")
    v2 = torch.stack([-y, x])[None]  # rigid rotation, counter-clockwise in (x, y)
    assert torch.allclose(curl(v2)[0, 0, 1:-1, 1:-1], torch.full((5, 5), 2.0,
                                                                       dtype=torch.float64))
    x, y, z = torch.meshgrid(c, c, c, indexing="ij")
    inner = (slice(None),) + (slice(1, -1),) * 3
    for axis, v in enumerate([torch.stack([0 * x, -z, y]),   # omega along x
                              torch.stack([z, 0 * y, -x]),   # omega along y
                              torch.stack([-y, x, 0 * z])]):  # omega along z
        w = curl(v[None])[0][inner]
        expect = torch.zeros_like(w)
        expect[axis] = 2.0
        assert torch.allclose(w, expect), axis


def test_central_difference_is_exact_for_linear_fields_and_one_sided_at_the_border():
    u = torch.arange(5, dtype=torch.float64)[None] * 3.0
    d = central_difference(u, 0)[0]
    assert torch.equal(d[1:-1], torch.full((3,), 3.0, dtype=torch.float64))
    assert d[0] == 1.5 and d[-1] == 1.5  # replicated border: half a step
    assert torch.equal(central_difference(torch.ones(1, 1, 4), 0), torch.zeros(1, 1, 4))
