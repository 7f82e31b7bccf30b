"""make_trimap against thresholds + scipy.ndimage.binary_erosion (square, border_value=1)."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from conftest import load_gray, shared_path

import alphacut
from alphacut import ops


def _square(r, shape):
    h, w = shape  # a window wider than the image reaches every pixel: clip it (same result)
    return np.ones((2 * min(r, h - 1) + 1, 2 * min(r, w - 1) + 1), bool)


def ref_trimap(prob, fg, bg, r):
    if prob.dtype == np.uint8:
        p, fg, bg = prob.astype(np.float32) / np.float32(255), np.float32(fg), np.float32(bg)
    elif prob.dtype == np.float32:
        p, fg, bg = prob, np.float32(fg), np.float32(bg)
    else:
        p = prob
    sure_fg = ndi.binary_erosion(p >= fg, structure=_square(r, p.shape), border_value=1)
    sure_bg = ndi.binary_erosion(p <= bg, structure=_square(r, p.shape), border_value=1)
    out = np.full(p.shape, 128, np.uint8)
    out[sure_fg] = 255
    out[sure_bg] = 0
    return out


def smooth_prob(rng, shape, dtype=np.float32):
    p = ndi.gaussian_filter(rng.random(shape), 3, mode="reflect")
    p = (p - p.min()) / max(p.max() - p.min(), 1e-9)
    return p.astype(dtype)


@pytest.mark.parametrize("shape", [(1, 1), (1, 50), (40, 1), (17, 33), (63, 130)])
@pytest.mark.parametrize("radius", [0, 1, 2, 7, 200])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_reference_random(backend, rng, shape, radius, dtype):
    p = smooth_prob(rng, shape, dtype)
    for fg, bg in ((0.95, 0.05), (0.7, 0.3), (0.5001, 0.5)):
        out = ops.make_trimap(p, fg, bg, radius, backend=backend)
        assert out.dtype == np.uint8 and out.shape == shape
        np.testing.assert_array_equal(out, ref_trimap(p, fg, bg, radius))


@pytest.mark.parametrize("radius", [0, 3, 10])
def test_uint8_prob_compares_prob_over_255(backend, rng, radius):
    p = (smooth_prob(rng, (45, 77)) * 255).round().astype(np.uint8)
    for fg, bg in ((0.95, 0.05), (242 / 255, 13 / 255), (0.6, 0.4)):
        np.testing.assert_array_equal(
            ops.make_trimap(p, fg, bg, radius, backend=backend), ref_trimap(p, fg, bg, radius)
        )


def test_defaults_and_labels(backend):
    p = np.zeros((1, 30), np.float32)
    p[0, 15:] = 1.0
    t = ops.make_trimap(p, backend=backend)  # 0.95 / 0.05 / radius 10
    assert t[0, :5].tolist() == [0] * 5 and t[0, -5:].tolist() == [255] * 5
    assert (t[0, 5:25] == 128).all()
    assert set(np.unique(ops.make_trimap(np.full((5, 5), 0.5, np.float32), backend=backend))) == {128}
    assert (ops.make_trimap(np.ones((5, 5)), radius=50, backend=backend) == 255).all()  # border not eaten


def test_same_as_composed_ops(backend, rng):
    p = smooth_prob(rng, (70, 90))
    t = ops.make_trimap(p, 0.8, 0.2, 4, backend=backend)
    fg = ops.erode(p >= np.float32(0.8), 4, backend=backend)
    bg = ops.erode(p <= np.float32(0.2), 4, backend=backend)
    np.testing.assert_array_equal(t == 255, fg)
    np.testing.assert_array_equal(t == 0, bg)


@pytest.mark.parametrize("name", ["lemur__on_leaves.png", "GT05__on_leaves.png", "gfm_animal_3__on_GT26r.png"])
@pytest.mark.parametrize("radius", [2, 10])
def test_real_alpha(backend, name, radius):
    alpha = load_gray(shared_path("images", "composites", "alpha", name))
    t = ops.make_trimap(alpha, 0.95, 0.05, radius, backend=backend)
    np.testing.assert_array_equal(t, ref_trimap(alpha, 0.95, 0.05, radius))
    f = alpha.astype(np.float32) / 255
    np.testing.assert_array_equal(
        ops.make_trimap(f, 0.9, 0.1, radius, backend=backend), ref_trimap(f, 0.9, 0.1, radius)
    )
    # every partial-alpha pixel of the ground truth is inside the unknown band
    partial = (alpha > 0.05 * 255) & (alpha < 0.95 * 255)
    assert (t[partial] == 128).all()
    assert (t == 255).any() and (t == 0).any()


@pytest.mark.parametrize(
    "prob, kwargs, match",
    [
        (np.zeros((4, 4), np.float32), {"radius": -1}, "non-negative"),
        (np.zeros((4, 4, 3), np.float32), {}, "channels|shape"),
        (np.zeros((0, 4), np.float32), {}, "empty"),
        (np.full((4, 4), np.nan, np.float32), {}, "NaN"),
        (np.array([[0.5, np.inf]]), {}, "NaN or infinite"),
        (np.zeros((4, 4), np.float32), {"fg_threshold": 0.2, "bg_threshold": 0.8}, "below"),
        (np.zeros((4, 4), np.float32), {"fg_threshold": 0.5, "bg_threshold": 0.5}, "below"),
        (np.zeros((4, 4), np.float32), {"fg_threshold": 1.5}, r"\[0, 1\]"),
        (np.zeros((4, 4), np.float32), {"bg_threshold": float("nan")}, r"\[0, 1\]"),
        (np.zeros((4, 4), np.float32), {"fg_threshold": "high"}, "number"),
        (np.zeros((4, 4), np.int64), {}, "dtype"),
        (np.zeros((4, 4), bool), {}, "dtype"),
    ],
)
def test_bad_input(prob, kwargs, match):
    with pytest.raises(alphacut.Error, match=match):
        ops.make_trimap(prob, **kwargs)


def test_native_rejects_thresholds_out_of_order():
    from alphacut import _core

    with pytest.raises(alphacut.Error, match="below"):
        _core.make_trimap_cpu(np.zeros((3, 3), np.float32), 0.1, 0.9, 1)


def test_thresholds_equal_in_float32_are_refused(backend):
    # 5e-324 > 0 as doubles, but both are 0 as the float32 thresholds of a float32 / uint8 prob:
    # the native check refused them with a plain alphacut.Error.
    for prob in (np.zeros((4, 5), np.float32), np.zeros((4, 5), np.uint8)):
        with pytest.raises(alphacut.InputError, match="float32"):
            ops.make_trimap(prob, fg_threshold=5e-324, bg_threshold=0.0, backend=backend)
    out = ops.make_trimap(np.zeros((4, 5), np.float64), fg_threshold=5e-324, bg_threshold=0.0, backend=backend)
    assert (out == 0).all()  # float64 prob: the thresholds differ, 0 <= 0 is background
