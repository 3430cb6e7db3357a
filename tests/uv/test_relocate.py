"""Constant texture and temporal relocation (Sec. 5.2.3): a known texture-space shift is
recovered; the constant texture reconstructs later frames better afterwards."""

import numpy as np
from billow.uv import evaluate as ev
from billow.uv import relocate as rl
from billow.uv.optimise import uv_error

from . import toy_sequence

SIZE = (6 * 48, 4 * 48)


def _shifted(dx=2.0, dy=-1.0):
    """Frame 1 shows the same image as frame 0 but its UVs point `(dx, dy)` texels away: its
    texture T_1 is T_0 shifted, and relocation must map it back."""
    seq = toy_sequence.make(frames=1)
    uv0, fg, rgb = seq["gt"][0], seq["fg"][0], seq["rgb"][0]
    uv1 = uv0 + np.array([dx / SIZE[1], -dy / SIZE[0]], np.float32)
    uv1[~fg] = 0
    return np.stack([uv0, uv1]), np.stack([fg, fg]), np.stack([rgb, rgb])


def test_known_texture_space_shift_is_recovered():
    uv, mask, rgb = _shifted()
    out, tex_o, seen_o, info = rl.relocate(uv, mask, rgb, SIZE)
    assert uv_error(uv[1:], mask[1:], uv[:1], mask[:1], SIZE) > 2.2
    err = np.linalg.norm((out[1] - uv[0])[mask[0]] * np.array([SIZE[1], SIZE[0]]), axis=-1)
    assert np.median(err) < 0.1 and err.mean() < 0.5
    np.testing.assert_array_equal(out[0], uv[0])  # the reference frame keeps its UVs
    assert info["rejected"][0] == 0.0 and tex_o.shape == (*SIZE, 3) and seen_o.any()


def test_relocated_uvs_reconstruct_from_the_constant_texture():
    uv, mask, rgb = _shifted(dx=3.0, dy=2.0)
    out, tex_o, _, _ = rl.relocate(uv, mask, rgb, SIZE)
    before = ev.evaluate(ev.reconstruct(tex_o, uv, mask), rgb, mask, uv, mask, SIZE)
    after = ev.evaluate(ev.reconstruct(tex_o, out, mask), rgb, mask, out, mask, SIZE)
    assert after["frames"]["psnr"][1] > before["frames"]["psnr"][1] + 5
    assert after["frames"]["psnr"][1] > 30


def test_reference_frame_is_selectable():
    uv, mask, rgb = _shifted()
    out, _, _, info = rl.relocate(uv, mask, rgb, SIZE, reference=1)
    np.testing.assert_array_equal(out[1], uv[1])
    err = np.linalg.norm((out[0] - uv[1])[mask[0]] * np.array([SIZE[1], SIZE[0]]), axis=-1)
    assert np.median(err) < 0.1 and info["rejected"][1] == 0.0
