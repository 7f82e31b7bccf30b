import numpy as np
import pytest

import alphacut
from alphacut import ops


def test_composite_matches_numpy(backend, rng):
    fg = rng.random((17, 33, 3), dtype=np.float32)
    bg = rng.random((17, 33, 3), dtype=np.float32)
    a = rng.random((17, 33), dtype=np.float32)
    out = ops.composite(fg, a, bg, backend=backend)
    np.testing.assert_allclose(out, a[..., None] * fg + (1 - a[..., None]) * bg, atol=1e-6)


def test_composite_colour_and_uint8(backend):
    fg = np.full((4, 5, 3), 255, np.uint8)
    a = np.full((4, 5), 51, np.uint8)  # 0.2
    out = ops.composite(fg, a, (0, 0, 255), backend=backend)
    np.testing.assert_allclose(out[0, 0], [0.2, 0.2, 1.0], atol=1e-6)


def test_premultiply_roundtrip(backend, rng):
    img = rng.random((9, 7, 3), dtype=np.float32)
    a = rng.uniform(0.05, 1, (9, 7)).astype(np.float32)
    p = ops.premultiply(img, a, backend=backend)
    np.testing.assert_allclose(p, img * a[..., None], atol=1e-6)
    np.testing.assert_allclose(ops.unpremultiply(p, a, backend=backend), img, atol=1e-5)
    a[0, 0] = 0
    assert (ops.unpremultiply(p, a, backend=backend)[0, 0] == 0).all()


def test_strided_views_are_accepted(backend, rng):
    big = rng.random((20, 40, 3), dtype=np.float32)
    a = rng.random((20, 40), dtype=np.float32)
    fg, aa = big[2:12, 5:30], a[2:12, 5:30]  # row-strided crops, no copy needed
    out = ops.premultiply(fg, aa, backend=backend)
    np.testing.assert_allclose(out, fg * aa[..., None], atol=1e-6)
    out2 = ops.premultiply(big[:, ::2], a[:, ::2], backend=backend)  # not packed: copied
    np.testing.assert_allclose(out2, big[:, ::2] * a[:, ::2, None], atol=1e-6)


@pytest.mark.parametrize(
    "fg, a, bg, match",
    [
        (np.zeros((0, 3, 3), np.float32), np.zeros((0, 3), np.float32), (0, 0, 0), "empty"),
        (np.zeros((2, 3, 3), np.float32), np.zeros((3, 3), np.float32), (0, 0, 0), "must match"),
        (np.zeros((2, 3, 3), np.float32), np.full((2, 3), np.nan, np.float32), (0, 0, 0), "NaN"),
        (np.zeros((2, 3, 3), np.int64), np.zeros((2, 3), np.float32), (0, 0, 0), "dtype"),
        (np.zeros((2, 3, 3), np.float32), np.zeros((2, 3), np.float32), (0, 0), "colour"),
        (np.zeros((2, 3, 2), np.float32), np.zeros((2, 3), np.float32), (0, 0), "channels"),
    ],
)
def test_composite_bad_input(fg, a, bg, match):
    with pytest.raises(alphacut.Error, match=match):
        ops.composite(fg, a, bg)


def test_unknown_backend():
    with pytest.raises(alphacut.Error, match="backend must be one of"):
        ops.premultiply(np.zeros((2, 2, 3), np.float32), np.zeros((2, 2), np.float32), backend="tpu")


def test_large_values_stay_finite(backend):
    # b + a * (f - b) overflowed when f and b were large with opposite signs (f - b = inf).
    fg = np.full((2, 3, 3), 3e38, np.float32)
    bg = np.full((2, 3, 3), -3e38, np.float32)
    a = np.full((2, 3), 0.25, np.float32)
    out = ops.composite(fg, a, bg, backend=backend)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, -1.5e38, rtol=1e-6)


@pytest.mark.parametrize("bad", [1.5, -0.25, 1e38, -1e38])
def test_alpha_outside_unit_range_is_clamped(backend, bad):
    # An alpha of 1e38 extrapolated past F and B to inf; alpha is clamped to [0, 1] like pack_rgba's.
    rng = np.random.default_rng(2)
    fg, bg = rng.random((2, 3, 3), dtype=np.float32), rng.random((2, 3, 3), dtype=np.float32)
    a = np.full((2, 3), 0.5, np.float32)
    a[1, 2] = bad
    c = np.clip(a, 0, 1)[..., None]
    np.testing.assert_allclose(ops.composite(fg, a, bg, backend=backend), c * fg + (1 - c) * bg, atol=1e-6)
    np.testing.assert_allclose(ops.premultiply(fg, a, backend=backend), c * fg, atol=1e-6)
    un = ops.unpremultiply(fg, a, backend=backend)
    assert np.isfinite(un).all()
    np.testing.assert_allclose(un[c[..., 0] > 0], np.clip(fg / np.maximum(c, 1e-30), 0, 1)[c[..., 0] > 0], atol=1e-5)
