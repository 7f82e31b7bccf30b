"""dilate / erode against scipy.ndimage with a square structure and the stated border values."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from conftest import load_gray, shared_path

import alphacut
from alphacut import ops


def _square(r, shape):
    # A window wider than the image reaches every pixel either way: clipping the structure to
    # (2 min(r, H-1) + 1, 2 min(r, W-1) + 1) gives the same result and keeps scipy fast.
    h, w = shape
    return np.ones((2 * min(r, h - 1) + 1, 2 * min(r, w - 1) + 1), bool)


def ref_dilate(m, r):
    return ndi.binary_dilation(m, structure=_square(r, m.shape), border_value=0)


def ref_erode(m, r):
    return ndi.binary_erosion(m, structure=_square(r, m.shape), border_value=1)


def brute(m, r, erode):
    """Direct definition, for a second opinion on small inputs."""
    h, w = m.shape
    out = np.zeros_like(m)
    for y in range(h):
        for x in range(w):
            win = m[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
            out[y, x] = win.all() if erode else win.any()
    return out


SHAPES = [(1, 1), (1, 37), (29, 1), (17, 33), (5, 64), (3, 65), (11, 129), (9, 200)]
RADII = [0, 1, 2, 7, 32, 63, 64, 65, 300]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("radius", RADII)
def test_matches_scipy_random(backend, rng, shape, radius):
    for density in (0.03, 0.5, 0.97):
        m = rng.random(shape) < density
        d = ops.dilate(m, radius, backend=backend)
        e = ops.erode(m, radius, backend=backend)
        assert d.dtype == np.bool_ and d.shape == shape
        assert e.dtype == np.bool_ and e.shape == shape
        np.testing.assert_array_equal(d, ref_dilate(m, radius))
        np.testing.assert_array_equal(e, ref_erode(m, radius))


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (7, 11), (13, 70)])
@pytest.mark.parametrize("radius", [0, 1, 3, 20])
def test_matches_brute_force(backend, rng, shape, radius):
    m = rng.random(shape) < 0.4
    np.testing.assert_array_equal(ops.dilate(m, radius, backend=backend), brute(m, radius, False))
    np.testing.assert_array_equal(ops.erode(m, radius, backend=backend), brute(m, radius, True))


def test_border_rules(backend):
    m = np.ones((6, 9), bool)
    assert ops.erode(m, 3, backend=backend).all()  # outside counts as foreground: border not eaten
    z = np.zeros((6, 9), bool)
    assert not ops.dilate(z, 3, backend=backend).any()  # outside counts as background
    one = z.copy()
    one[0, 0] = True
    d = ops.dilate(one, 2, backend=backend)
    assert d.sum() == 9 and d[:3, :3].all()


def test_input_dtypes_and_threshold(backend, rng):
    f = rng.random((23, 71))
    f[3, 4] = 0.5  # exactly the threshold counts as set
    f[5, 6] = np.nextafter(0.5, 0)
    want = f >= 0.5
    u8 = np.where(want, rng.integers(1, 256, f.shape), 0).astype(np.uint8)
    for m in (want, u8, f.astype(np.float32), f, want[:, :, None]):
        np.testing.assert_array_equal(ops.dilate(m, 3, backend=backend), ref_dilate(want, 3))
        np.testing.assert_array_equal(ops.erode(m, 3, backend=backend), ref_erode(want, 3))


def test_strided_views(backend, rng):
    big = rng.random((60, 90)) < 0.3
    for view in (big[5:40, 7:80], big[::2, ::3], big.T):
        np.testing.assert_array_equal(ops.dilate(view, 4, backend=backend), ref_dilate(view, 4))
        np.testing.assert_array_equal(ops.erode(view, 4, backend=backend), ref_erode(view, 4))


def test_does_not_modify_input(backend, rng):
    m = rng.random((30, 30)) < 0.5
    before = m.copy()
    ops.dilate(m, 5, backend=backend)
    ops.erode(m, 5, backend=backend)
    np.testing.assert_array_equal(m, before)


def test_large_radius_on_large_image(backend, rng):
    m = np.zeros((300, 700), bool)
    m[rng.integers(0, 300, 40), rng.integers(0, 700, 40)] = True
    # r = 100: compare against the separable definition (square = row max then column max).
    d = ops.dilate(m, 100, backend=backend)
    ref = ndi.maximum_filter1d(
        ndi.maximum_filter1d(m.astype(np.uint8), 201, axis=1, mode="constant"), 201, axis=0, mode="constant"
    ).astype(bool)
    np.testing.assert_array_equal(d, ref)
    e = ops.erode(~m, 100, backend=backend)
    np.testing.assert_array_equal(e, ~ref)  # duality with outside = foreground / background


@pytest.mark.parametrize("name", ["lemur__on_leaves.png", "GT05__on_beach.png", "p3m_p_514ca06a__on_GT26r.png"])
@pytest.mark.parametrize("radius", [1, 6, 25])
def test_real_masks(backend, name, radius):
    alpha = load_gray(shared_path("images", "composites", "alpha", name))
    m = alpha >= 128
    d = ops.dilate(m, radius, backend=backend)
    e = ops.erode(m, radius, backend=backend)
    np.testing.assert_array_equal(d, ref_dilate(m, radius))
    np.testing.assert_array_equal(e, ref_erode(m, radius))
    assert e.sum() < m.sum() < d.sum()  # a real cut-out both shrinks and grows
    # float alpha thresholded at 0.5 gives the same as uint8 >= 128
    f = alpha.astype(np.float32) / 255
    np.testing.assert_array_equal(ops.dilate(f, radius, backend=backend), ops.dilate(f >= 0.5, radius))


@pytest.mark.parametrize(
    "mask, radius, match",
    [
        (np.zeros((4, 4), bool), -1, "non-negative"),
        (np.zeros((4, 4), bool), 1.5, "non-negative integer"),
        (np.zeros((4, 4), bool), True, "non-negative integer"),
        (np.zeros((4, 4, 3), bool), 1, "channels|shape"),
        (np.zeros((2, 4, 4), bool), 1, "channels|shape"),
        (np.zeros((4,), bool), 1, "shape"),
        (np.zeros((0, 4), bool), 1, "empty"),
        (np.zeros((4, 0), np.uint8), 1, "empty"),
        (np.full((4, 4), np.nan, np.float32), 1, "NaN"),
        (np.zeros((4, 4), np.int32), 1, "dtype"),
        (np.zeros((4, 4), np.complex64), 1, "dtype"),
    ],
)
def test_bad_input(mask, radius, match):
    for fn in (ops.dilate, ops.erode):
        with pytest.raises(alphacut.Error, match=match):
            fn(mask, radius)
    assert issubclass(alphacut.errors.InputError, alphacut.Error)


def test_native_rejects_bad_arguments():
    from alphacut import _core

    with pytest.raises(alphacut.Error, match="radius"):
        _core.dilate_cpu(np.zeros((3, 3), np.uint8), -2)
    with pytest.raises(alphacut.Error, match="dtype"):
        _core.erode_cpu(np.zeros((3, 3), np.int16), 1)
    with pytest.raises(alphacut.Error, match="empty|contiguous"):
        _core.erode_cpu(np.zeros((0, 3), np.uint8), 1)
    with pytest.raises(alphacut.Error, match="empty|contiguous"):
        _core.erode_cpu(np.zeros((3, 0), np.uint8), 1)


@pytest.mark.parametrize("threads", [1, 3, 8])
def test_thread_count_does_not_change_results(rng, threads):
    m = rng.random((157, 301)) < 0.2
    prob = rng.random((157, 301)).astype(np.float32)
    before = ops.get_num_threads()
    try:
        ops.set_num_threads(threads)
        got = (ops.dilate(m, 9), ops.erode(m, 2), ops.make_trimap(prob, 0.6, 0.4, 1))
    finally:
        ops.set_num_threads(before)
    np.testing.assert_array_equal(got[0], ref_dilate(m, 9))
    np.testing.assert_array_equal(got[1], ref_erode(m, 2))
    ref_t = np.full(m.shape, 128, np.uint8)
    ref_t[ref_erode(prob >= np.float32(0.6), 1)] = 255
    ref_t[ref_erode(prob <= np.float32(0.4), 1)] = 0
    np.testing.assert_array_equal(got[2], ref_t)


def test_huge_radius(backend, rng):
    m = rng.random((9, 14)) < 0.1
    m[4, 4] = True
    assert ops.dilate(m, 10**12, backend=backend).all()
    assert not ops.erode(m, 10**12, backend=backend).any()
    assert (ops.make_trimap(m.astype(np.float32), radius=10**12, backend=backend) == 128).all()
