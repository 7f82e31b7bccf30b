"""estimate_foreground against pymatting's estimate_foreground_ml, synthetic scenes with known F
and B, and the shared composites with their true foreground.

Error measure on the composites (``fg_error``): the alpha-weighted mean absolute error of F over
the pixels with 0 < alpha_gt < 1, ``sum(a |F - F_gt|) / (3 sum(a))``, colours in [0, 1]. The
weight follows how much of F shows in the cutout; where alpha is near 0, F is barely determined
(and barely visible)."""

import numpy as np
import pytest
from _foreground_reference import red_black_reference
from conftest import COMPOSITES, load_gray, load_rgb, shared_path

import alphacut
from alphacut import _core, ops

pymatting = pytest.importorskip("pymatting")

QUICK = COMPOSITES[:2]  # the rest run with the `slow` marker
COMPOSITE_PARAMS = [pytest.param(n, marks=[] if n in QUICK else [pytest.mark.slow]) for n in COMPOSITES]


def load_composite(name):
    """(image uint8 (H, W, 3), alpha uint8 (H, W), true foreground float64 (H, W, 3) in [0, 1])."""
    image = load_rgb(shared_path("images", "composites", "input", f"{name}.jpg"))
    alpha = load_gray(shared_path("images", "composites", "alpha", f"{name}.png"))
    fg = load_rgb(shared_path("images", "composites", "foreground", name.split("__")[0] + ".jpg"))
    return image, alpha, fg / 255.0


def fg_error(f, fg_true, alpha):
    a = alpha / 255.0 if alpha.dtype == np.uint8 else alpha
    m = (a > 0) & (a < 1)
    w = a[m][:, None]
    return float((w * np.abs(f[m] - fg_true[m])).sum() / (3 * w.sum()))


def luminance(x):
    return x @ np.array([0.299, 0.587, 0.114])


def smooth_scene(h, w, rng, alpha_kind="uniform"):
    """Smooth F and B (low-frequency sinusoids), alpha random; returns I, alpha, F, B (float32)."""
    yy, xx = np.mgrid[0:h, 0:w] / float(max(h, w))
    f = np.stack([0.5 + 0.3 * np.sin(2 * np.pi * (xx + 0.3 * c) + c) * np.cos(np.pi * yy) for c in range(3)], -1)
    b = np.stack([0.5 + 0.3 * np.cos(3 * np.pi * (yy + 0.2 * c) + 2 * c) for c in range(3)], -1)
    b = b * np.ones((h, w, 1))
    if alpha_kind == "uniform":
        a = rng.random((h, w))
    else:  # a soft disc with random texture
        r = np.hypot(yy - 0.5 * h / max(h, w), xx - 0.5 * w / max(h, w))
        a = np.clip((0.3 - r) / 0.1, 0, 1) * rng.random((h, w)) ** 0.5
    image = a[..., None] * f + (1 - a[..., None]) * b
    return image.astype(np.float32), a.astype(np.float32), f.astype(np.float32), b.astype(np.float32)


# --- agreement with pymatting --------------------------------------------------------------------


# The GPU kernels sweep red-black where the CPU op (and pymatting) sweep in scan order, so on
# emu/cuda these compare with the NumPy red-black reference instead: bit-identical on emu (same
# float32 operations in the same order), within FMA contraction on a device.
def _gpu_atol(backend):
    return 1e-6 if backend == "emu" else 1e-4


def test_matches_pymatting_on_small_images(backend, rng):
    # Below 65,536 pixels every level is swept in full, in scan order: pymatting's algorithm step
    # for step. Differences are float32 rounding (pymatting mixes in float64 in places).
    image, a, _, _ = smooth_scene(120, 160, rng, "disc")
    ours, ours_b = ops.estimate_foreground(image, a, return_background=True, backend=backend)
    ref, ref_b = pymatting.estimate_foreground_ml(image, a, return_background=True)
    if backend == "cpu":
        np.testing.assert_allclose(ours, ref, atol=2e-4)
        np.testing.assert_allclose(ours_b, ref_b, atol=2e-4)
        return
    rb, rb_b = red_black_reference(image, a)
    np.testing.assert_allclose(ours, rb, atol=_gpu_atol(backend))
    np.testing.assert_allclose(ours_b, rb_b, atol=_gpu_atol(backend))
    # Red-black against scan order, weighted by how much of F (B) shows: measured 1.7e-3 (4.4e-4).
    w = a[..., None]
    assert (w * np.abs(ours - ref)).sum() / (3 * w.sum()) < 4e-3
    assert ((1 - w) * np.abs(ours_b - ref_b)).sum() / (3 * (1 - w).sum()) < 1.5e-3


def test_matches_pymatting_with_other_parameters(backend, rng):
    image = rng.random((40, 70, 3)).astype(np.float32)
    a = rng.random((40, 70)).astype(np.float32)
    kw = dict(regularization=1e-3, n_small_iterations=4, n_big_iterations=3, small_size=16, gradient_weight=0.5)
    ours = ops.estimate_foreground(image, a, backend=backend, **kw)
    if backend == "cpu":
        np.testing.assert_allclose(ours, pymatting.estimate_foreground_ml(image, a, **kw), atol=2e-4)
    else:
        np.testing.assert_allclose(ours, red_black_reference(image, a, **kw)[0], atol=_gpu_atol(backend))


def test_full_sweeps_match_pymatting_on_a_photo():
    # The native full-sweep path at photo size (every level in scan order), against pymatting.
    image, alpha, _ = load_composite("lemur__on_leaves")
    ours = _core.estimate_foreground_cpu(image, alpha, band_min_pixels=1 << 40)
    ref = pymatting.estimate_foreground_ml(image / 255.0, alpha / 255.0)
    np.testing.assert_allclose(ours, ref, atol=5e-4)


def test_band_matches_full_sweeps_where_it_matters():
    # The banded large levels against sweeping every pixel: in the soft region the two agree
    # closely (they differ only through the start values outside the band).
    image, alpha, _ = load_composite("lemur__on_leaves")
    band = _core.estimate_foreground_cpu(image, alpha)
    full = _core.estimate_foreground_cpu(image, alpha, band_min_pixels=1 << 40)
    m = (alpha > 0) & (alpha < 255)
    diff = np.abs(band - full)[m]
    assert diff.mean() < 2e-3, diff.mean()
    assert np.percentile(diff, 99) < 0.03, np.percentile(diff, 99)
    opaque = alpha == 255
    assert np.abs(band - full)[opaque].max() < 1e-3


# --- quality on the shared composites ------------------------------------------------------------


@pytest.mark.parametrize("name", COMPOSITE_PARAMS)
def test_composites_better_than_input_and_no_worse_than_pymatting(backend, name):
    image, alpha, fg_true = load_composite(name)
    ours = ops.estimate_foreground(image, alpha, backend=backend)
    ref = pymatting.estimate_foreground_ml(image / 255.0, alpha / 255.0)
    e_ours = fg_error(ours, fg_true, alpha)
    e_input = fg_error(image / 255.0, fg_true, alpha)
    e_ref = fg_error(ref, fg_true, alpha)
    assert e_ours < 0.8 * e_input, (e_ours, e_input)
    # No worse than pymatting: within 1 % of its error on every image (on the set, lower: the
    # banded levels start opaque pixels at F = I, pymatting from the coarse level). The GPU
    # kernels sweep the levels up to 65,536 pixels red-black, not in scan order: measured from
    # -5.0 % to +1.1 % against pymatting on the ten composites, hence 2 % there.
    assert e_ours <= (1.01 if backend == "cpu" else 1.02) * e_ref, (e_ours, e_ref)


@pytest.mark.slow
def test_composites_mean_error_no_worse_than_pymatting():
    ours, refs = [], []
    for name in COMPOSITES:
        image, alpha, fg_true = load_composite(name)
        ours.append(fg_error(ops.estimate_foreground(image, alpha), fg_true, alpha))
        refs.append(fg_error(pymatting.estimate_foreground_ml(image / 255.0, alpha / 255.0), fg_true, alpha))
    assert np.mean(ours) <= np.mean(refs), (np.mean(ours), np.mean(refs))


@pytest.mark.parametrize("name", COMPOSITES)
def test_no_halo_on_black(backend, name):
    # Laid over black, the cutout is alpha * F. In the soft band its luminance must be closer to
    # the true foreground's than the plain cutout (alpha * input) is: the old background's halo.
    image, alpha, fg_true = load_composite(name)
    f = ops.estimate_foreground(image, alpha, backend=backend)
    a = alpha / 255.0
    m = (alpha > 0) & (alpha < 255)
    truth = luminance(a[..., None] * fg_true)[m]
    err_ours = np.abs(luminance(a[..., None] * f)[m] - truth).mean()
    err_input = np.abs(luminance(a[..., None] * (image / 255.0))[m] - truth).mean()
    assert err_ours < 0.75 * err_input, (err_ours, err_input)


# --- synthetic scenes with known F and B ---------------------------------------------------------


# (shape, tolerances): all levels swept in full at 60 x 90; banded finest levels at 300 x 400,
# where the scene is also smoother per pixel. Measured: 0.021 / 0.064 / 0.029 and 0.012 / 0.038 /
# 0.015 (F mean, F p99, B mean), against 0.095 for taking the input as F.
@pytest.mark.parametrize(
    "shape, tol_mean, tol_p99, tol_b", [((60, 90), 0.03, 0.09, 0.04), ((300, 400), 0.016, 0.05, 0.02)]
)
def test_recovers_known_foreground(backend, rng, shape, tol_mean, tol_p99, tol_b):
    image, a, f_true, b_true = smooth_scene(*shape, rng)
    f, b = ops.estimate_foreground(image, a, return_background=True, backend=backend)
    m = a > 0.1  # where F shows at all
    err = np.abs(f - f_true)[m]
    assert err.mean() < tol_mean, err.mean()
    assert np.percentile(err, 99) < tol_p99, np.percentile(err, 99)
    assert np.abs(image - f_true)[m].mean() > 3 * err.mean()  # the task is not trivial
    assert np.abs(b - b_true)[a < 0.9].mean() < tol_b


@pytest.mark.parametrize("alpha_kind", ["uniform", "disc"])
def test_composite_over_true_background_reproduces_input(backend, rng, alpha_kind):
    image, a, _, b_true = smooth_scene(300, 400, rng, alpha_kind)
    f, b = ops.estimate_foreground(image, a, return_background=True, backend=backend)
    soft = (a > 0) & (a < 1)
    redo = ops.composite(f, a, b_true, backend=backend)
    err = np.abs(redo - image)[soft]
    assert err.mean() < 0.01, err.mean()
    assert err.max() < 0.1, err.max()
    # And over its own background estimate: the compositing equation the solver enforces.
    own = a[..., None] * f + (1 - a[..., None]) * b
    assert np.abs(own - image)[soft].mean() < 0.01


# --- documented behaviour ------------------------------------------------------------------------


def test_opaque_copies_image_and_transparent_background_is_image(backend, rng):
    # At sizes where the finest level is banded, F == image exactly where alpha == 1 and
    # B == image where alpha == 0 (outside the one-pixel band around the soft edge).
    image, _, _, _ = smooth_scene(300, 400, rng)
    yy, xx = np.mgrid[0:300, 0:400]
    ramp = np.clip((120 - np.hypot(yy - 150, xx - 200)) / 30, 0, 1)  # opaque disc, soft ring
    a = np.where((ramp > 0) & (ramp < 1), ramp * rng.random((300, 400)), ramp).astype(np.float32)
    f, b = ops.estimate_foreground(image, a, return_background=True, backend=backend)
    opaque = a == 1
    np.testing.assert_array_equal(f[opaque & ~_near_soft(a)], image[opaque & ~_near_soft(a)])
    clear = a == 0
    np.testing.assert_array_equal(b[clear & ~_near_soft(a)], image[clear & ~_near_soft(a)])
    assert (opaque & ~_near_soft(a)).sum() > 1000 and (clear & ~_near_soft(a)).sum() > 1000


def _near_soft(a):
    from scipy import ndimage

    active = (a > 0) & (a < 1)
    for axis in (0, 1):
        for shift in (-1, 1):
            active |= a != np.roll(a, shift, axis)  # wraps at the border: a superset, fine
    return ndimage.binary_dilation(active, np.ones((3, 3), bool))


def test_output_range_dtype_and_shapes(backend, rng):
    image, a, _, _ = smooth_scene(50, 70, rng)
    f = ops.estimate_foreground(image, a, backend=backend)
    assert f.shape == (50, 70, 3) and f.dtype == np.float32
    assert np.isfinite(f).all() and f.min() >= 0 and f.max() <= 1
    f2, b2 = ops.estimate_foreground(image, a, return_background=True, backend=backend)
    assert b2.shape == (50, 70, 3) and b2.dtype == np.float32
    np.testing.assert_array_equal(f, f2)


@pytest.mark.parametrize("shape", [(300, 400), (80, 60)])
def test_uint8_float_and_strided_inputs_agree(backend, rng, shape):
    image = (rng.random((*shape, 3)) * 255).astype(np.uint8)
    a = (rng.random(shape) * 255).astype(np.uint8)
    a[: shape[0] // 3] = 255
    a[-shape[0] // 3 :] = 0
    ref = ops.estimate_foreground(image, a, backend=backend)
    for img2, a2 in [
        (image / np.float32(255), a),
        (image, a / np.float32(255)),
        (image.astype(np.float64) / 255, a.astype(np.float64) / 255),
    ]:
        np.testing.assert_allclose(ops.estimate_foreground(img2, a2, backend=backend), ref, atol=1e-5)
    big_i = np.zeros((shape[0] + 6, shape[1] + 9, 3), np.uint8)
    big_a = np.zeros((shape[0] + 6, shape[1] + 9), np.uint8)
    big_i[3:-3, 4:-5], big_a[3:-3, 4:-5] = image, a
    crop = ops.estimate_foreground(big_i[3:-3, 4:-5], big_a[3:-3, 4:-5], backend=backend)
    np.testing.assert_array_equal(crop, ref)
    flipped = ops.estimate_foreground(image[:, ::-1], a[:, ::-1], backend=backend)  # not packed: copied
    assert flipped.shape == ref.shape and np.isfinite(flipped).all()


def test_bool_alpha(backend, rng):
    image = rng.random((30, 40, 3)).astype(np.float32)
    a = rng.random((30, 40)) > 0.5
    np.testing.assert_array_equal(
        ops.estimate_foreground(image, a, backend=backend),
        ops.estimate_foreground(image, a.astype(np.float32), backend=backend),
    )


def test_thread_count_does_not_change_the_result(rng):
    image, alpha, _ = _photo_or_synthetic(rng)
    before = ops.get_num_threads()
    try:
        ops.set_num_threads(1)
        one = ops.estimate_foreground(image, alpha)
        ops.set_num_threads(3)
        three = ops.estimate_foreground(image, alpha)
    finally:
        ops.set_num_threads(before)
    np.testing.assert_array_equal(one, three)


def _photo_or_synthetic(rng):
    try:
        return load_composite("lemur__on_leaves")
    except BaseException:  # noqa: BLE001 - pytest.skip when the data is absent: use a synthetic scene
        image, a, f, _ = smooth_scene(300, 400, rng, "disc")
        return (image * 255).astype(np.uint8), (a * 255).astype(np.uint8), f


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (2, 3), (257, 256), (600, 1)])
def test_degenerate_sizes(backend, rng, shape):
    image = rng.random((*shape, 3)).astype(np.float32)
    a = rng.random(shape).astype(np.float32)
    f = ops.estimate_foreground(image, a, backend=backend)
    assert f.shape == (*shape, 3) and np.isfinite(f).all() and f.min() >= 0 and f.max() <= 1


def test_zero_iterations_give_the_coarse_start(backend, rng):
    # With no sweeps F is the mean colour where alpha > 0.9, upsampled: constant.
    image, a, _, _ = smooth_scene(40, 50, rng)
    f = ops.estimate_foreground(image, a, n_small_iterations=0, n_big_iterations=0, backend=backend)
    mean = image[a > 0.9].mean(axis=0)
    np.testing.assert_allclose(f.reshape(-1, 3), np.broadcast_to(mean, (40 * 50, 3)), atol=1e-4)


# --- bad input -----------------------------------------------------------------------------------

OK_IMAGE = np.zeros((4, 5, 3), np.float32)
OK_ALPHA = np.zeros((4, 5), np.float32)


@pytest.mark.parametrize(
    "image, alpha, match",
    [
        (np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32), "empty"),
        (np.zeros((0, 5, 3), np.uint8), np.zeros((0, 5), np.uint8), "empty"),
        (np.zeros((4, 5, 4), np.float32), OK_ALPHA, "channels"),
        (np.zeros((4, 5), np.float32), OK_ALPHA, "expected"),
        (np.zeros((4, 5, 1), np.float32), OK_ALPHA, "expected"),
        (OK_IMAGE, np.zeros((4, 5, 3), np.float32), "channels"),
        (OK_IMAGE, np.zeros((5, 4), np.float32), "must match"),
        (np.full((4, 5, 3), np.nan, np.float32), OK_ALPHA, "NaN"),
        (OK_IMAGE, np.full((4, 5), np.inf, np.float32), "NaN or infinite"),
        (OK_IMAGE, np.full((4, 5), 1.5, np.float32), r"\[0, 1\]"),
        (OK_IMAGE, np.full((4, 5), -0.1, np.float64), r"\[0, 1\]"),
        (np.zeros((4, 5, 3), np.int64), OK_ALPHA, "dtype"),
        (OK_IMAGE, np.zeros((4, 5), np.int32), "dtype"),
        (np.zeros((4, 5, 3), np.complex64), OK_ALPHA, "dtype"),
        (np.zeros((2, 4, 5, 3), np.float32), OK_ALPHA, "expected"),
        ("not an image", OK_ALPHA, "dtype"),
    ],
)
def test_bad_input(image, alpha, match):
    with pytest.raises(alphacut.InputError, match=match):
        ops.estimate_foreground(image, alpha)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(regularization=0), "regularization"),
        (dict(regularization=-1e-5), "regularization"),
        (dict(regularization=float("nan")), "regularization"),
        (dict(gradient_weight=-1), "gradient_weight"),
        (dict(gradient_weight=float("inf")), "gradient_weight"),
        (dict(n_small_iterations=-1), "n_small_iterations"),
        (dict(n_big_iterations=1.5), "n_big_iterations"),
        (dict(small_size=-3), "small_size"),
        (dict(n_big_iterations=2**40), "too large"),
        (dict(backend="tpu"), "backend must be one of"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(alphacut.Error, match=match):
        ops.estimate_foreground(OK_IMAGE, OK_ALPHA, **kwargs)


def test_native_entry_point_rejects_bad_arrays():
    # The binding itself never crashes on arrays the Python layer would have refused.
    with pytest.raises(alphacut.Error, match="alpha"):
        _core.estimate_foreground_cpu(np.zeros((4, 5, 3), np.float32), np.zeros((4, 6), np.float32))
    with pytest.raises(alphacut.Error, match="3 channels"):
        _core.estimate_foreground_cpu(np.zeros((4, 5, 2), np.float32), np.zeros((4, 5), np.float32))
    with pytest.raises(alphacut.Error, match=r"\[0, 1\]"):
        _core.estimate_foreground_cpu(np.zeros((4, 5, 3), np.float32), np.full((4, 5), np.nan, np.float32))
    with pytest.raises(alphacut.Error, match="dtype"):
        _core.estimate_foreground_cpu(np.zeros((4, 5, 3), np.float64), np.zeros((4, 5), np.float32))
    with pytest.raises(alphacut.Error, match="empty"):
        _core.estimate_foreground_cpu(np.zeros((0, 5, 3), np.float32), np.zeros((0, 5), np.float32))
    with pytest.raises(alphacut.Error, match="regularization"):
        _core.estimate_foreground_cpu(np.zeros((4, 5, 3), np.float32), np.zeros((4, 5), np.float32), regularization=0)


def test_docstring_example():
    import doctest
    import importlib

    mod = importlib.import_module("alphacut.ops._estimate_foreground")

    result = doctest.testmod(mod, verbose=False)
    assert result.attempted > 0 and result.failed == 0


# --- GPU kernels (emu, and cuda where present) against the CPU op and the red-black reference ---


def _gpu_backends():
    from alphacut.ops import available_backends

    params = [
        pytest.param(b, marks=[pytest.mark.gpu] if b == "cuda" else [])
        for b in ("emu", "cuda")
        if b in available_backends()
    ]
    return params or [pytest.param("none", marks=pytest.mark.skip(reason="built without emu or cuda kernels"))]


@pytest.fixture(params=_gpu_backends())
def gpu_backend(request):
    return request.param


def _native(backend):
    return getattr(_core, f"estimate_foreground_{backend}")


def _inputs(rng, shape, kind):
    image = rng.random((*shape, 3)).astype(np.float32)
    a = rng.random(shape).astype(np.float32)
    a[: shape[0] // 3] = 1  # opaque and transparent parts, so the band has an outside
    a[shape[0] - shape[0] // 3 :] = 0
    if kind == "uint8":
        return (image * 255).astype(np.uint8), (a * 255).astype(np.uint8)
    return image, a


GPU_SHAPES = [(1, 1), (1, 37), (29, 1), (2, 3), (17, 33), (64, 64), (65, 64), (200, 300)]


@pytest.mark.parametrize("kind", ["uint8", "float32"])
@pytest.mark.parametrize("shape", GPU_SHAPES)
def test_gpu_matches_red_black_reference(gpu_backend, rng, shape, kind):
    # Below 65,536 pixels no level is banded: every pixel of every level is swept red-black. The
    # sizes cover one-block levels only (<= 64 x 64) and levels with their own launches.
    image, a = _inputs(rng, shape, kind)
    f, b = _native(gpu_backend)(image, a, return_background=True)
    scale = np.float32(255) if kind == "uint8" else np.float32(1)
    rf, rb = red_black_reference(image / scale, a / scale)
    assert f.shape == b.shape == (*shape, 3) and f.dtype == b.dtype == np.float32
    np.testing.assert_allclose(f, rf, atol=_gpu_atol(gpu_backend))
    np.testing.assert_allclose(b, rb, atol=_gpu_atol(gpu_backend))


@pytest.mark.parametrize("kind", ["uint8", "float32"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (29, 1), (17, 33), (120, 160), (257, 256)])
def test_gpu_banded_levels_equal_cpu(gpu_backend, rng, shape, kind):
    # With every level banded (band_min_pixels=0) the CPU op sweeps red-black in the band too:
    # same start values, same band, same order of updates, so the results are the same (bit for
    # bit on emu; the mean colours are summed in a different order, ~1e-7).
    image, a = _inputs(rng, shape, kind)
    f, b = _native(gpu_backend)(image, a, return_background=True, band_min_pixels=0)
    cf, cb = _core.estimate_foreground_cpu(image, a, return_background=True, band_min_pixels=0)
    np.testing.assert_allclose(f, cf, atol=_gpu_atol(gpu_backend))
    np.testing.assert_allclose(b, cb, atol=_gpu_atol(gpu_backend))
    # Zero sweeps: the start values alone (banded: F = I where opaque, else the coarse colour).
    f0 = _native(gpu_backend)(image, a, n_small_iterations=0, n_big_iterations=0, band_min_pixels=0)
    c0 = _core.estimate_foreground_cpu(image, a, n_small_iterations=0, n_big_iterations=0, band_min_pixels=0)
    np.testing.assert_allclose(f0, c0, atol=1e-6)


@pytest.mark.parametrize("alpha_kind", ["uniform", "disc"])
def test_gpu_error_on_known_foreground_close_to_cpu(gpu_backend, rng, alpha_kind):
    # Random smooth scenes with known F (300 x 400: the finest level banded, the rest swept in
    # full). Measured: F error vs truth +4.4 % (uniform) and +1.7 % (disc) above the CPU op's;
    # mean |gpu - cpu| over 0 < alpha < 1: 1.0e-3 and 1.7e-3, p99 3.8e-3 and 7.3e-3.
    image, a, f_true, _ = smooth_scene(300, 400, rng, alpha_kind)
    f = ops.estimate_foreground(image, a, backend=gpu_backend)
    c = ops.estimate_foreground(image, a, backend="cpu")
    m = a > 0.1
    e_gpu, e_cpu = np.abs(f - f_true)[m].mean(), np.abs(c - f_true)[m].mean()
    assert e_gpu <= 1.07 * e_cpu, (e_gpu, e_cpu)
    soft = (a > 0) & (a < 1)
    d = np.abs(f - c)[soft]
    assert d.mean() < 4e-3 and np.percentile(d, 99) < 0.02, (d.mean(), np.percentile(d, 99))


@pytest.mark.parametrize("name", COMPOSITE_PARAMS)
def test_gpu_agrees_with_cpu_on_composites(gpu_backend, name):
    # Measured on the ten composites: the alpha-weighted F error vs the true foreground is from
    # -3.4 % to +1.3 % of the CPU op's (set mean -0.5 %); mean |gpu - cpu| over 0 < alpha < 1 is
    # 1.1e-3 .. 5.5e-3, p99 0.011 .. 0.057 (the largest where alpha is near 0 and F barely
    # determined). Opaque pixels away from the edge are the image colour exactly on both.
    image, alpha, fg_true = load_composite(name)
    f = ops.estimate_foreground(image, alpha, backend=gpu_backend)
    c = ops.estimate_foreground(image, alpha, backend="cpu")
    e_gpu, e_cpu = fg_error(f, fg_true, alpha), fg_error(c, fg_true, alpha)
    assert e_gpu <= 1.03 * e_cpu, (e_gpu, e_cpu)
    soft = (alpha > 0) & (alpha < 255)
    d = np.abs(f - c)[soft]
    print(
        f"\n{name} ({gpu_backend}): F error {100 * (e_gpu / e_cpu - 1):+.1f} % vs cpu; "
        f"|gpu - cpu| on soft pixels mean {d.mean():.2e}, p99 {np.percentile(d, 99):.3f}"
    )
    assert d.mean() < 0.01 and np.percentile(d, 99) < 0.1, (d.mean(), np.percentile(d, 99))
    far = (alpha == 255) & ~_near_soft(alpha / 255.0)
    assert far.sum() > 1000
    np.testing.assert_array_equal(f[far], (image / np.float32(255))[far])
    np.testing.assert_array_equal(c[far], f[far])


def test_gpu_uint8_and_float_inputs_agree(gpu_backend, rng):
    image, a = _inputs(rng, (90, 130), "uint8")
    ref = _native(gpu_backend)(image, a)
    for img2, a2 in [
        (image / np.float32(255), a),
        (image, a / np.float32(255)),
        (image / np.float32(255), a / np.float32(255)),
    ]:
        np.testing.assert_allclose(_native(gpu_backend)(img2, a2), ref, atol=1e-6)
    f, b = ops.estimate_foreground(image, a, return_background=True, backend=gpu_backend)
    np.testing.assert_array_equal(f, ref)
    # B where alpha == 0 away from the edge is the image (banded finest level only: 90 x 130 is
    # swept in full, so there B is only close to it).
    clear = a == 0
    assert np.abs(b[clear] - image[clear] / 255.0).mean() < 0.02


def test_gpu_is_deterministic(gpu_backend, rng):
    image, a, _, _ = smooth_scene(300, 400, rng, "disc")
    one = ops.estimate_foreground(image, a, backend=gpu_backend)
    two = ops.estimate_foreground(image, a, backend=gpu_backend)
    np.testing.assert_array_equal(one, two)


def test_gpu_entry_point_rejects_bad_arrays(gpu_backend):
    fn = _native(gpu_backend)
    with pytest.raises(alphacut.Error, match="alpha"):
        fn(np.zeros((4, 5, 3), np.float32), np.zeros((4, 6), np.float32))
    with pytest.raises(alphacut.Error, match="3 channels"):
        fn(np.zeros((4, 5, 2), np.float32), np.zeros((4, 5), np.float32))
    with pytest.raises(alphacut.Error, match=r"\[0, 1\]"):
        fn(np.zeros((4, 5, 3), np.float32), np.full((4, 5), np.nan, np.float32))
    with pytest.raises(alphacut.Error, match=r"\[0, 1\]"):
        fn(np.zeros((4, 5, 3), np.float32), np.full((4, 5), 1.5, np.float32))
    with pytest.raises(alphacut.Error, match="dtype"):
        fn(np.zeros((4, 5, 3), np.float64), np.zeros((4, 5), np.float32))
    with pytest.raises(alphacut.Error, match="empty"):
        fn(np.zeros((0, 5, 3), np.float32), np.zeros((0, 5), np.float32))
    with pytest.raises(alphacut.Error, match="regularization"):
        fn(np.zeros((4, 5, 3), np.float32), np.zeros((4, 5), np.float32), regularization=0)
    with pytest.raises(alphacut.Error, match="non-negative"):
        fn(np.zeros((4, 5, 3), np.float32), np.zeros((4, 5), np.float32), n_big_iterations=-1)


@pytest.mark.parametrize("regularization", [1e-30, 1e-10, 1e-8])
def test_tiny_weights_stay_finite(backend, regularization):
    # With gradient_weight=0 and W = 4 * regularization below float's resolution of a^2, the
    # determinant a00 a11 - a01^2 of a soft pixel cancelled to 0: F and B were NaN everywhere.
    rng = np.random.default_rng(5)
    img = rng.random((12, 10, 3), dtype=np.float32)
    a = rng.random((12, 10), dtype=np.float32)
    a[:, :3], a[:, -3:] = 0, 1
    f, b = ops.estimate_foreground(
        img, a, regularization=regularization, gradient_weight=0.0, return_background=True, backend=backend
    )
    assert np.isfinite(f).all() and np.isfinite(b).all()
    assert (f >= 0).all() and (f <= 1).all()


@pytest.mark.parametrize("bad", [1e38, -0.5, 1.5])
def test_float_image_outside_unit_range_is_refused(backend, bad):
    # A float image of huge values overflowed the float32 per-pixel system: NaN in F.
    img = np.full((5, 5, 3), 0.5, np.float32)
    img[2, 3, 1] = bad
    a = np.full((5, 5), 0.5, np.float32)
    with pytest.raises(alphacut.InputError, match=r"image.*\[0, 1\]"):
        ops.estimate_foreground(img, a, backend=backend)
