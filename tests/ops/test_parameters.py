"""Parameters at and past their limits, on every backend: out-of-range values are
alphacut.InputError naming the parameter (never a pybind TypeError / ValueError, nor a native
error), and accepted values give finite results of one shape on every backend."""

import numpy as np
import pytest

import alphacut
from alphacut import ops


def _img(rng, shape, dtype=np.float32):
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape, dtype=np.float32)


# ---- integers past the int32 range the native ops take ------------------------------------------


def test_huge_radius_is_the_whole_image(backend, rng):
    # A radius wider than the image is the whole image, also past 2**31 - 1.
    g, s = _img(rng, (9, 13, 3)), _img(rng, (9, 13))
    whole = ops.guided_filter(g, s, 100, 1e-3, backend=backend)
    for r in (2**31 - 1, 2**31, 2**40):
        np.testing.assert_array_equal(ops.guided_filter(g, s, r, 1e-3, backend=backend), whole)
        mean_a, mean_b = ops.guided_filter_coefficients(g, s, r, 1e-3, backend=backend)
        assert mean_a.shape == (9, 13, 3) and mean_b.shape == (9, 13)
        low = _img(rng, (3, 4))
        assert ops.upscale_alpha(low, g, r, 1e-3, backend=backend).shape == (9, 13)
        m = s > 0.5
        assert ops.dilate(m, r, backend=backend).all() == m.any()
        assert ops.make_trimap(s, radius=r, backend=backend).shape == (9, 13)


def test_huge_max_iter_means_no_limit(backend, rng):
    img = _img(rng, (8, 8, 3))
    tri = np.full((8, 8), 128, np.uint8)
    tri[:, 0], tri[:, -1] = 0, 255
    a, info = ops.solve_alpha(img, tri, max_iter=2**31, tol=1e-3, return_info=True, backend=backend)
    assert 0 < info["iterations"] < 1000 and np.isfinite(a).all()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda b: ops.preprocess(np.zeros((4, 4, 3), np.uint8), (2**31, 1), backend=b), "size"),
        (lambda b: ops.preprocess(np.zeros((4, 4, 3), np.uint8), (1, 2**40), backend=b), "size"),
        (lambda b: ops.guided_filter(np.zeros((4, 4)), np.zeros((4, 4)), -1, 1e-3, backend=b), "radius"),
        (lambda b: ops.guided_filter(np.zeros((4, 4)), np.zeros((4, 4)), 1.5, 1e-3, backend=b), "radius"),
        (lambda b: ops.dilate(np.zeros((4, 4)), -(2**31), backend=b), "radius"),
        (lambda b: ops.make_trimap(np.zeros((4, 4)), radius="3", backend=b), "radius"),
        (
            lambda b: ops.solve_alpha(np.zeros((4, 4, 3)), np.zeros((4, 4), np.uint8), max_iter=-1, backend=b),
            "max_iter",
        ),
        (
            lambda b: ops.estimate_foreground(np.zeros((4, 4, 3)), np.zeros((4, 4)), n_big_iterations=2**31, backend=b),
            "n_big_iterations",
        ),
    ],
)
def test_integers_out_of_range(backend, call, match):
    with pytest.raises(alphacut.InputError, match=match):
        call(backend)


# ---- other parameters a binding used to reject with a bare TypeError / ValueError ---------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mean": (1, 2)}, "mean"),
        ({"std": (1, 2, 3, 4)}, "std"),
        ({"mean": "abc"}, "mean"),
        ({"std": [[1, 2, 3]]}, "std"),
        ({"mean": 1e39}, "mean"),  # finite as a Python float, infinite as float32
        ({"scale": 1e39}, "scale"),
        ({"scale": "x"}, "scale"),
        ({"size": (4, "x")}, "size"),
    ],
)
def test_preprocess_parameters(backend, kwargs, match):
    kwargs = dict(kwargs)
    size = kwargs.pop("size", (2, 2))
    with pytest.raises(alphacut.InputError, match=match):
        ops.preprocess(np.zeros((4, 4, 3), np.uint8), size, backend=backend, **kwargs)
    with pytest.raises(alphacut.InputError, match=match):
        if "size" not in match:
            ops.preprocess_into(
                np.zeros((1, 3, 2, 2), np.float32), np.zeros((4, 4, 3), np.uint8), backend=backend, **kwargs
            )
        else:
            raise alphacut.InputError("size")


@pytest.mark.parametrize("colour", ["red", ("a", "b", "c"), (1, 2, None), b"abc", (1, [2], 3), {"r": 1}])
def test_composite_colour_that_is_not_numbers(backend, colour):
    fg, a = np.zeros((2, 3, 3), np.float32), np.zeros((2, 3), np.float32)
    with pytest.raises(alphacut.InputError, match="background"):
        ops.composite(fg, a, colour, backend=backend)


def test_preprocess_into_read_only_out(backend):
    out = np.zeros((1, 3, 4, 4), np.float32)
    out.flags.writeable = False
    with pytest.raises(alphacut.InputError, match="read-only"):
        ops.preprocess_into(out, np.zeros((8, 8, 3), np.uint8), backend=backend)


@pytest.mark.parametrize("shape", [(1, 3, 4), (3, 4, 4), (1, 3, 4, 4, 1)])
def test_preprocess_into_bad_out(backend, shape):
    with pytest.raises(alphacut.InputError, match="out"):
        ops.preprocess_into(np.zeros(shape, np.float32), np.zeros((8, 8, 3), np.uint8), backend=backend)
    with pytest.raises(alphacut.InputError, match="out"):
        ops.preprocess_into(np.zeros((1, 3, 4, 4), np.float64), np.zeros((8, 8, 3), np.uint8), backend=backend)


# ---- finite, accepted parameters that overflowed to NaN / inf -----------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda b, i, a: ops.estimate_foreground(i, a, regularization=1e38, backend=b), "regularization"),
        (lambda b, i, a: ops.estimate_foreground(i, a, regularization=1e-45, backend=b), "regularization"),
        (lambda b, i, a: ops.estimate_foreground(i, a, gradient_weight=1e38, backend=b), "gradient_weight"),
        (lambda b, i, a: ops.guided_filter(i, a, 2, 1e200, backend=b), "eps"),
        (lambda b, i, a: ops.guided_filter(i, a, 2, 1e-13, backend=b), "eps"),
        (lambda b, i, a: ops.guided_filter_coefficients(i[..., 0], a, 2, 1e200, backend=b), "eps"),
        (lambda b, i, a: ops.upscale_alpha(a[::2, ::2], i, 1, 1e200, backend=b), "eps"),
        (lambda b, i, a: ops.solve_alpha(i, (a * 255).astype(np.uint8), eps=1e200, backend=b), "eps"),
        (lambda b, i, a: ops.solve_alpha(i, (a * 255).astype(np.uint8), tol=1e300, backend=b), "tol"),
        (
            lambda b, i, a: ops.solve_alpha(i, (a * 255).astype(np.uint8), prior=a, prior_weight=1e300, backend=b),
            "prior_weight",
        ),
        (
            lambda b, i, a: ops.solve_alpha(i, (a * 255).astype(np.uint8), prior=a, prior_confidence=1e300, backend=b),
            "prior_confidence",
        ),
        (lambda b, i, a: ops.preprocess((i * 255).astype(np.uint8), (3, 3), std=1e-45, backend=b), "std"),
        (lambda b, i, a: ops.preprocess((i * 255).astype(np.uint8), (3, 3), scale=1e37, std=1e-3, backend=b), "scale"),
        (
            lambda b, i, a: ops.preprocess((i * 255).astype(np.uint8), (3, 3), mean=1e5, dtype="float16", backend=b),
            "float16",
        ),
    ],
)
def test_parameters_that_overflow_are_refused(backend, rng, call, match):
    img, a = _img(rng, (12, 10, 3)), _img(rng, (12, 10))
    with pytest.raises(alphacut.InputError, match=match):
        call(backend, img, a)


def test_parameters_at_the_limits_give_finite_results(backend, rng):
    img, a = _img(rng, (12, 10, 3)), _img(rng, (12, 10))
    a[:, :3], a[:, -3:] = 0, 1
    for reg, gw in ((1e-30, 0.0), (1e-10, 0.0), (1e15, 1e15), (1e-30, 1e15)):
        f = ops.estimate_foreground(img, a, regularization=reg, gradient_weight=gw, backend=backend)
        assert np.isfinite(f).all(), (reg, gw)
    for eps in (1e-12, 1e30):
        for guide in (img, img[..., 0], np.zeros_like(img), np.repeat(img[..., :1], 3, axis=2)):
            assert np.isfinite(ops.guided_filter(guide, a, 2, eps, backend=backend)).all()
            assert np.isfinite(ops.upscale_alpha(a[::2, ::2], guide, 1, eps, backend=backend)).all()
    grey = np.repeat(img[..., :1], 3, axis=2)
    for eps in (1e-12, 1e30):
        for im in (img, grey, np.zeros_like(img)):
            assert np.isfinite(ops.solve_alpha(im, (a * 255).astype(np.uint8), eps=eps, backend=backend)).all()
    out = ops.preprocess((img * 255).astype(np.uint8), (3, 3), std=1e-30, backend=backend)
    assert np.isfinite(out).all()
    out = ops.preprocess((img * 255).astype(np.uint8), (3, 3), mean=100, std=0.01, dtype="float16", backend=backend)
    assert np.isfinite(out.astype(np.float32)).all()


# ---- one output shape on every backend ---------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1)])
def test_single_channel_blend_keeps_its_channel_axis(backend, rng, shape):
    img, a, bg = _img(rng, shape), _img(rng, (5, 7)), _img(rng, shape)
    for out in (
        ops.composite(img, a, bg, backend=backend),
        ops.composite(img, a, (0.5,), backend=backend),
        ops.premultiply(img, a, backend=backend),
        ops.unpremultiply(img, a, backend=backend),
    ):
        assert out.shape == (5, 7, 1) and out.dtype == np.float32
    np.testing.assert_allclose(ops.premultiply(img, a, backend=backend)[..., 0], img.reshape(5, 7) * a, atol=1e-6)


# ---- rows that overlap (a stride of 0: np.broadcast_to) ----------------------------------------


def test_broadcast_rows(backend, rng):
    row3, row1 = _img(rng, (1, 9, 3)), _img(rng, (1, 9))
    img, a = np.broadcast_to(row3, (6, 9, 3)), np.broadcast_to(row1, (6, 9))
    assert img.strides[0] == 0 and a.strides[0] == 0
    ci, ca = np.ascontiguousarray(img), np.ascontiguousarray(a)
    np.testing.assert_array_equal(ops.premultiply(img, a, backend=backend), ops.premultiply(ci, ca, backend=backend))
    np.testing.assert_array_equal(
        ops.composite(img, a, img[::-1], backend=backend), ops.composite(ci, ca, ci[::-1], backend=backend)
    )
    u8 = np.broadcast_to((row3 * 255).astype(np.uint8), (6, 9, 3))
    np.testing.assert_array_equal(
        ops.pack_rgba(u8, a, backend=backend), ops.pack_rgba(np.ascontiguousarray(u8), ca, backend=backend)
    )
    np.testing.assert_array_equal(
        ops.guided_filter(img, a, 2, 1e-3, backend=backend), ops.guided_filter(ci, ca, 2, 1e-3, backend=backend)
    )
    np.testing.assert_array_equal(ops.dilate(a > 0.5, 1, backend=backend), ops.dilate(ca > 0.5, 1, backend=backend))
    np.testing.assert_array_equal(
        ops.resize(u8, (3, 4), backend=backend), ops.resize(np.ascontiguousarray(u8), (3, 4), backend=backend)
    )
    np.testing.assert_array_equal(
        ops.preprocess(u8, (3, 4), backend=backend), ops.preprocess(np.ascontiguousarray(u8), (3, 4), backend=backend)
    )


# ---- preprocess_into whose image is (part of) its output buffer --------------------------------


def test_preprocess_into_refuses_an_image_inside_out(backend):
    out = np.zeros((1, 3, 6, 4), np.float32)
    raw = out.view(np.uint8)[0, 0]  # (6, 16) bytes of channel 0's plane
    image = np.lib.stride_tricks.as_strided(raw, shape=(6, 4, 3), strides=(raw.strides[0], 3, 1))
    image[:] = np.arange(72, dtype=np.uint8).reshape(6, 4, 3)
    with pytest.raises(alphacut.InputError, match="overlap"):
        ops.preprocess_into(out, image, backend=backend)
    buf = np.zeros(72 + 24, np.float32)  # an image that starts inside out's last plane and runs past it
    tail = buf[60:].view(np.uint8)
    partial = np.lib.stride_tricks.as_strided(tail, shape=(12, 4, 3), strides=(12, 3, 1))
    with pytest.raises(alphacut.InputError, match="overlap"):
        ops.preprocess_into(buf[:72].reshape(1, 3, 6, 4), partial, backend=backend)
    # a copy of the image is fine
    ops.preprocess_into(out, image.copy(), backend=backend)
