import numpy as np

from billow.uv import atlas


def test_iuv_round_trip_every_part():
    rng = np.random.default_rng(0)
    i = rng.integers(0, atlas.PARTS + 1, size=(32, 32))
    u, v = rng.uniform(0.01, 0.99, size=(2, 32, 32))
    uv, mask = atlas.iuv_to_uv(i, u, v)
    assert (mask == (i > 0)).all()
    assert uv.min() >= 0 and uv.max() <= 1
    i2, u2, v2 = atlas.uv_to_iuv(uv, mask)
    assert (i2 == i).all()
    np.testing.assert_allclose(u2[mask], u[mask], atol=1e-5)
    np.testing.assert_allclose(v2[mask], v[mask], atol=1e-5)


def test_part_lands_in_its_tile_of_the_tile_index():
    size = (6 * 10, 4 * 10)
    owner = atlas.tile_index(size)
    for part in range(1, atlas.PARTS + 1):
        uv, mask = atlas.iuv_to_uv(np.array([part]), np.array([0.5]), np.array([0.5]))
        x, y = atlas.texel_xy(uv, size)
        assert owner[int(y[0]), int(x[0])] == part


def test_densepose_v_runs_top_to_bottom():
    # V = 1 is the top row of a tile: a smaller texel y than V = 0.
    uv, _ = atlas.iuv_to_uv(np.array([3, 3]), np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    _, y = atlas.texel_xy(uv, (600, 400))
    assert y[0] < y[1]


def test_encode_decode_quantises_to_one_255th():
    rng = np.random.default_rng(1)
    uv, mask = atlas.iuv_to_uv(rng.integers(1, 25, (8, 8)), *rng.uniform(0, 1, (2, 8, 8)))
    back, mask2 = atlas.decode_iuv_image(atlas.encode_iuv_image(uv, mask))
    assert (mask2 == mask).all()
    # One 8-bit step inside a tile is 1/255 of a tile: 1/(255*COLS) in u, 1/(255*ROWS) in v.
    assert np.abs(back - uv)[..., 0].max() <= 0.5 / (255 * atlas.COLS) + 1e-6
    assert np.abs(back - uv)[..., 1].max() <= 0.5 / (255 * atlas.ROWS) + 1e-6


def test_tile_borders_decode_to_their_own_part():
    i = np.array([5, 5, 5, 5])
    u, v = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.0, 1.0, 1.0, 0.0])
    uv, mask = atlas.iuv_to_uv(i, u, v)
    assert (atlas.uv_to_iuv(uv, mask)[0] == 5).all()
