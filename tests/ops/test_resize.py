"""resize against cv2.resize (INTER_LINEAR / INTER_AREA / INTER_CUBIC) and an exact NumPy box average."""

import cv2
import numpy as np
import pytest
from conftest import load_rgb, shared_path

import alphacut
from alphacut import ops

CV2 = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "bicubic": cv2.INTER_CUBIC}
# uint8: OpenCV uses fixed-point weights, we round float sums: at most 1 apart.
# float32: both sum in float32: values in [0, 1] agree to 1e-5 (bicubic can overshoot, same in both).
U8_TOL, F32_TOL = 1, 2e-5


def cv2_resize(img, size, method):
    h, w = size
    out = cv2.resize(img, (w, h), interpolation=CV2[method])
    return out.reshape(out.shape[:2] + img.shape[2:])


def box_weights(src, dst):
    """(dst, src) matrix of exact overlaps of [d * s, (d + 1) * s) with source pixels, rows sum to 1."""
    s = src / dst
    m = np.zeros((dst, src))
    for d in range(dst):
        a, b = d * s, min((d + 1) * s, src)
        for i in range(int(np.floor(a)), int(np.ceil(b))):
            m[d, i] = max(0.0, min(b, i + 1) - max(a, i))
        m[d] /= m[d].sum()
    return m


def box_reference(img, size):
    wy, wx = box_weights(img.shape[0], size[0]), box_weights(img.shape[1], size[1])
    x = img.astype(np.float64)
    return np.einsum("yi,ij...->yj...", wy, np.einsum("xj,ij...->ix...", wx, x))


def linear_reference(img, size):
    """Bilinear on the pixel-centre grid with clamped taps, written out in NumPy (float64)."""

    def axis(src, dst):
        f = (np.arange(dst) + 0.5) * (src / dst) - 0.5
        i0 = np.floor(f).astype(int)
        t = f - i0
        return np.clip(i0, 0, src - 1), np.clip(i0 + 1, 0, src - 1), t

    y0, y1, ty = axis(img.shape[0], size[0])
    x0, x1, tx = axis(img.shape[1], size[1])
    x = img.astype(np.float64)
    ex = (slice(None),) + (None,) * (img.ndim - 1)
    rows = x[y0] * (1 - ty)[ex] + x[y1] * ty[ex]
    ex2 = (None, slice(None)) + (None,) * (img.ndim - 2)
    return rows[:, x0] * (1 - tx)[ex2] + rows[:, x1] * tx[ex2]


def random_image(rng, shape, dtype):
    x = rng.random(shape)
    return (x * 255).round().astype(np.uint8) if dtype == np.uint8 else x.astype(np.float32)


def check(out, ref, dtype):
    assert out.dtype == dtype and out.shape == ref.shape
    if dtype == np.uint8:
        assert np.abs(out.astype(int) - ref.astype(int)).max() <= U8_TOL
    else:
        np.testing.assert_allclose(out, ref, atol=F32_TOL, rtol=0)


SIZES = [
    ((1, 1), (5, 7)),
    ((9, 1), (4, 3)),
    ((1, 13), (1, 5)),
    ((17, 33), (40, 21)),
    ((64, 48), (16, 12)),
    ((31, 45), (31, 45)),
    ((50, 70), (23, 101)),
    ((7, 5), (70, 50)),
]


@pytest.mark.parametrize("method", ["bilinear", "bicubic"])
@pytest.mark.parametrize("src, dst", SIZES)
@pytest.mark.parametrize("channels", [None, 1, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_matches_cv2(backend, rng, method, src, dst, channels, dtype):
    img = random_image(rng, src + ((channels,) if channels else ()), dtype)
    out = ops.resize(img, dst, method, backend=backend)
    check(out, cv2_resize(img, dst, method), dtype)


@pytest.mark.parametrize(
    "src, dst",
    [
        ((64, 48), (16, 12)),
        ((50, 70), (23, 31)),
        ((33, 17), (33, 5)),
        ((100, 90), (7, 9)),
        ((12, 12), (12, 12)),
        ((5, 7), (20, 28)),
    ],
)
@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_area_matches_cv2(backend, rng, src, dst, channels, dtype):
    # cv2.INTER_AREA is the exact box average when both axes shrink (and for whole-number
    # enlargements); elsewhere it rounds its cell edges, which the NumPy reference below avoids.
    img = random_image(rng, src + ((channels,) if channels else ()), dtype)
    check(ops.resize(img, dst, "area", backend=backend), cv2_resize(img, dst, "area"), dtype)


@pytest.mark.parametrize("src, dst", SIZES + [((40, 60), (90, 13)), ((13, 90), (40, 60))])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_area_matches_exact_box_average(backend, rng, src, dst, dtype):
    img = random_image(rng, src + (3,), dtype)
    out = ops.resize(img, dst, "area", backend=backend)
    ref = box_reference(img, dst)
    if dtype == np.uint8:
        assert np.abs(out - ref).max() <= 0.5 + 1e-3  # rounding only
    else:
        np.testing.assert_allclose(out, ref, atol=F32_TOL, rtol=0)


@pytest.mark.parametrize("src, dst", SIZES)
def test_bilinear_matches_numpy(backend, rng, src, dst):
    img = random_image(rng, src + (2,), np.float32)
    np.testing.assert_allclose(ops.resize(img, dst, backend=backend), linear_reference(img, dst), atol=F32_TOL)


@pytest.mark.parametrize("method", ["bilinear", "area", "bicubic"])
def test_identity_and_constant(backend, rng, method):
    img = random_image(rng, (19, 23, 3), np.uint8)
    np.testing.assert_array_equal(ops.resize(img, (19, 23), method, backend=backend), img)
    const = np.full((13, 17, 4), 77, np.uint8)
    for size in ((5, 3), (40, 41), (13, 60)):
        np.testing.assert_array_equal(ops.resize(const, size, method, backend=backend), np.full(size + (4,), 77))


def test_uint8_saturates_and_float_overshoots(backend):
    step = np.zeros((4, 8), np.float32)
    step[:, 4:] = 1.0
    up = ops.resize(step, (4, 32), "bicubic", backend=backend)
    assert up.min() < 0 and up.max() > 1  # a = -0.75 rings, as cv2.INTER_CUBIC
    up8 = ops.resize((step * 255).astype(np.uint8), (4, 32), "bicubic", backend=backend)
    assert up8.min() == 0 and up8.max() == 255
    np.testing.assert_array_equal(up8, np.clip(np.floor(up * 255 + 0.5), 0, 255).astype(np.uint8))


def test_many_channels_and_strided(backend, rng):
    img = random_image(rng, (21, 30, 6), np.float32)
    out = ops.resize(img, (9, 44), "bicubic", backend=backend)
    ref = np.stack([cv2_resize(np.ascontiguousarray(img[..., c]), (9, 44), "bicubic") for c in range(6)], -1)
    check(out, ref, np.float32)
    big = random_image(rng, (60, 80, 3), np.uint8)
    for view in (big[10:50, 5:70], big[::2, ::3], big.transpose(1, 0, 2)):
        check(
            ops.resize(view, (17, 29), backend=backend),
            cv2_resize(np.ascontiguousarray(view), (17, 29), "bilinear"),
            np.uint8,
        )
    one = random_image(rng, (10, 12, 1), np.uint8)
    assert ops.resize(one, (5, 6), backend=backend).shape == (5, 6, 1)


@pytest.mark.parametrize("method", ["bilinear", "area", "bicubic"])
def test_real_photo(backend, method):
    rgb = load_rgb(shared_path("images", "composites", "input", "lemur__on_leaves.jpg"))
    for size in ((320, 320), (rgb.shape[0] * 2 + 1, rgb.shape[1] * 3 // 2)):
        if method == "area" and size[0] > rgb.shape[0]:
            out = ops.resize(rgb, size, method, backend=backend)
            assert np.abs(out - box_reference(rgb, size)).max() <= 0.5 + 1e-3
            continue
        out = ops.resize(rgb, size, method, backend=backend)
        ref = cv2_resize(rgb, size, method)
        diff = np.abs(out.astype(int) - ref.astype(int))
        assert diff.max() <= U8_TOL and diff.mean() < 0.15  # fixed point vs float: some LSBs differ
        if method == "bilinear":  # against the exact float64 value, only our rounding remains
            assert np.abs(out - linear_reference(rgb, size)).max() <= 0.51  # float32 fractions, as cv2
        f = rgb.astype(np.float32) / 255
        check(ops.resize(f, size, method, backend=backend), cv2_resize(f, size, method), np.float32)


@pytest.mark.parametrize(
    "image, size, method, match",
    [
        (np.zeros((4, 4), np.uint8), (0, 3), "bilinear", "positive"),
        (np.zeros((4, 4), np.uint8), (3, -1), "bilinear", "positive"),
        (np.zeros((4, 4), np.uint8), (3.5, 2), "bilinear", "positive integer"),
        (np.zeros((4, 4), np.uint8), (3,), "bilinear", "pair"),
        (np.zeros((4, 4), np.uint8), None, "bilinear", "pair"),
        (np.zeros((4, 4), np.uint8), (3, 3), "lanczos", "method"),
        (np.zeros((0, 4), np.uint8), (3, 3), "bilinear", "empty"),
        (np.zeros((4, 4, 0), np.uint8), (3, 3), "bilinear", "channels"),
        (np.zeros((4, 4, 17), np.uint8), (3, 3), "bilinear", "channels"),
        (np.zeros((2, 4, 4, 3), np.uint8), (3, 3), "bilinear", "shape"),
        (np.zeros((4, 4), np.float64), (3, 3), "bilinear", "dtype"),
        (np.zeros((4, 4), np.int16), (3, 3), "bilinear", "dtype"),
        (np.full((4, 4), np.nan, np.float32), (3, 3), "bilinear", "NaN"),
    ],
)
def test_bad_input(image, size, method, match):
    with pytest.raises(alphacut.Error, match=match):
        ops.resize(image, size, method)


def test_native_rejects_bad_arguments():
    from alphacut import _core

    with pytest.raises(alphacut.Error, match="positive"):
        _core.resize_cpu(np.zeros((3, 3), np.uint8), 0, 2, 0)
    with pytest.raises(alphacut.Error, match="method"):
        _core.resize_cpu(np.zeros((3, 3), np.uint8), 2, 2, 7)
    with pytest.raises(alphacut.Error, match="dtype"):
        _core.resize_cpu(np.zeros((3, 3), np.float64), 2, 2, 0)


@pytest.mark.parametrize("threads", [1, 3, 8])
@pytest.mark.parametrize("method", ["bilinear", "area", "bicubic"])
def test_thread_count_does_not_change_results(rng, threads, method):
    img = random_image(rng, (97, 83, 3), np.float32)
    before = ops.get_num_threads()
    try:
        ops.set_num_threads(1)
        one = [ops.resize(img, s, method) for s in ((250, 31), (40, 200))]
        ops.set_num_threads(threads)
        many = [ops.resize(img, s, method) for s in ((250, 31), (40, 200))]
    finally:
        ops.set_num_threads(before)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a, b)


def test_float_values_near_the_float32_end_are_refused(backend):
    # Bicubic overshoot of values near 3.4e38 overflowed to inf (finite input, infinite output).
    x = np.full((6, 6), 3.4e38, np.float32)
    x[::2, ::2] = -3.4e38
    with pytest.raises(alphacut.InputError, match="image: values must lie within"):
        ops.resize(x, (9, 11), "bicubic", backend=backend)
    out = ops.resize(x / np.float32(4), (9, 11), "bicubic", backend=backend)
    assert np.isfinite(out).all()
