"""guided_filter against a float64 NumPy reference (tests/ops/_guided_reference.py), OpenCV's
cv2.ximgproc.guidedFilter and the real composites with their true alpha."""

import _guided_reference as ref
import numpy as np
import pytest
from conftest import load_gray, load_rgb, shared_path

import alphacut
from alphacut import ops
from alphacut.errors import BackendUnavailableError

TOL = 1e-4  # the error budget against float64


def run(backend, *args, **kw):
    try:
        return ops.guided_filter(*args, backend=backend, **kw)
    except BackendUnavailableError as exc:  # e.g. an emu build without this op's kernel yet
        pytest.skip(f"guided_filter not available on {backend}: {exc}")


def random_guide(rng, shape, channels):
    return rng.random(shape + ((3,) if channels == 3 else ()), dtype=np.float32)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(
    "shape, radius",
    [
        ((1, 1), 0),
        ((1, 1), 3),  # a single pixel: every window is that pixel
        ((1, 37), 2),
        ((37, 1), 5),  # one row / one column
        ((17, 33), 0),
        ((17, 33), 1),
        ((17, 33), 4),
        ((17, 33), 40),  # radius larger than the image
        ((2000, 24), 3),  # tall and narrow: split into row bands
        ((40, 1400), 8),  # wide: split into column strips
    ],
)
def test_matches_float64_reference(backend, rng, shape, radius, channels):
    guide = random_guide(rng, shape, channels)
    src = rng.random(shape, dtype=np.float32)
    for eps in (1e-4, 1e-2):
        out = run(backend, guide, src, radius, eps)
        assert out.shape == shape and out.dtype == np.float32
        np.testing.assert_allclose(out, ref.guided_filter(guide, src, radius, eps), rtol=0, atol=TOL)


@pytest.mark.parametrize("channels", [1, 3])
def test_uint8_inputs_are_scaled(backend, rng, channels):
    guide = (random_guide(rng, (23, 31), channels) * 255).astype(np.uint8)
    src = rng.integers(0, 256, (23, 31), dtype=np.uint8)
    out = run(backend, guide, src, 3, 1e-3)
    np.testing.assert_allclose(out, ref.guided_filter(guide, src, 3, 1e-3), rtol=0, atol=TOL)
    # the same as passing the scaled floats
    as_float = run(backend, guide.astype(np.float32) / 255, src.astype(np.float32) / 255, 3, 1e-3)
    np.testing.assert_allclose(out, as_float, rtol=0, atol=1e-6)


def test_float64_and_single_channel_3d_inputs(backend, rng):
    guide = rng.random((12, 14, 1))
    src = rng.random((12, 14))
    out = run(backend, guide, src, 2, 1e-3)
    np.testing.assert_allclose(out, ref.guided_filter(guide[..., 0], src, 2, 1e-3), rtol=0, atol=TOL)


@pytest.mark.parametrize("channels", [1, 3])
def test_coefficients_reproduce_the_output(rng, channels):
    from alphacut.ops import guided_filter_coefficients

    guide = random_guide(rng, (29, 41), channels)
    src = rng.random((29, 41), dtype=np.float32)
    mean_a, mean_b = guided_filter_coefficients(guide, src, 3, 1e-3)
    assert mean_a.shape == (29, 41, channels) and mean_b.shape == (29, 41)
    ra, rb = ref.coefficients(guide, src, 3, 1e-3)
    np.testing.assert_allclose(mean_a, ra, rtol=0, atol=1e-4)
    np.testing.assert_allclose(mean_b, rb, rtol=0, atol=1e-4)
    g3 = guide if channels == 3 else guide[..., None]
    np.testing.assert_allclose((mean_a * g3).sum(-1) + mean_b, ops.guided_filter(guide, src, 3, 1e-3), atol=1e-5)


def test_radius_zero_is_identity_and_constants_are_kept(backend, rng):
    guide = random_guide(rng, (15, 18), 3)
    src = rng.random((15, 18), dtype=np.float32)
    # r = 0: the window is one pixel, var = cov = 0, so a = 0 and q = b = p.
    np.testing.assert_allclose(run(backend, guide, src, 0, 1e-3), src, atol=1e-6)
    np.testing.assert_allclose(run(backend, guide, np.full_like(src, 0.3), 5, 1e-3), 0.3, atol=1e-6)


def test_edge_preserving(backend, rng):
    """A noisy step filtered with the clean step as guide keeps the step and loses the noise;
    a plain box blur of the same radius smears it."""
    guide = np.full((40, 40), 0.2, np.float32)
    guide[:, 20:] = 0.8
    src = guide + rng.normal(0, 0.05, guide.shape).astype(np.float32)
    out = run(backend, guide, src, 4, 1e-3)
    assert np.abs(out - guide).mean() < 0.5 * np.abs(src - guide).mean()
    assert np.abs(out - guide).mean() < 0.3 * np.abs(ref.box_mean(src, 4) - guide).mean()


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("radius, eps", [(2, 1e-3), (8, 1e-3), (5, 1e-2)])
def test_matches_opencv_on_interior_pixels(backend, rng, channels, radius, eps):
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2, "ximgproc"):
        pytest.skip("cv2.ximgproc (opencv-contrib) is not installed")
    guide = random_guide(rng, (64, 72), channels)
    src = rng.random((64, 72), dtype=np.float32)
    out = run(backend, guide, src, radius, eps)
    theirs = cv2.ximgproc.guidedFilter(guide, src, radius, eps, -1)
    # OpenCV reflects at the border where we clip the window: pixels 2r inside agree.
    m = 2 * radius
    np.testing.assert_allclose(out[m:-m, m:-m], theirs[m:-m, m:-m], rtol=0, atol=1e-4)
    assert np.abs(out - theirs).max() > 1e-3  # and the border conventions do differ


REAL = ["GT05__on_leaves", "lemur__on_GT26r", "p3m_p_514ca06a__on_beach"]


@pytest.mark.parametrize("name", REAL)
def test_real_images_match_reference(backend, name):
    rgb = load_rgb(shared_path("images", "composites", "input", f"{name}.jpg"))
    alpha = load_gray(shared_path("images", "composites", "alpha", f"{name}.png"))
    for guide in (rgb, load_gray(shared_path("images", "composites", "input", f"{name}.jpg"))):
        out = run(backend, guide, alpha, 8, 1e-3)
        np.testing.assert_allclose(out, ref.guided_filter(guide, alpha, 8, 1e-3), rtol=0, atol=TOL)


def test_real_image_matches_opencv_interior(backend):
    """On a real photo OpenCV agrees when given the uint8 guide (its eps is then in 0..255 units,
    hence eps * 255**2). Its float32-guide colour path drifts by up to ~0.8 on this image, so the
    float64 reference above, not OpenCV's float path, is the accuracy yardstick."""
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2, "ximgproc"):
        pytest.skip("cv2.ximgproc (opencv-contrib) is not installed")
    name = REAL[0]
    rgb = load_rgb(shared_path("images", "composites", "input", f"{name}.jpg"))
    alpha = load_gray(shared_path("images", "composites", "alpha", f"{name}.png"))
    out = run(backend, rgb, alpha, 8, 1e-3)
    theirs = cv2.ximgproc.guidedFilter(rgb, alpha.astype(np.float32) / 255, 8, 1e-3 * 255**2, -1)
    np.testing.assert_allclose(out[16:-16, 16:-16], theirs[16:-16, 16:-16], rtol=0, atol=1e-4)


def test_strided_views_are_accepted(backend, rng):
    big_guide = random_guide(rng, (30, 50), 3)
    big_src = rng.random((30, 50), dtype=np.float32)
    g, s = big_guide[3:20, 5:40], big_src[3:20, 5:40]  # row-strided crops
    np.testing.assert_allclose(run(backend, g, s, 3, 1e-3), ref.guided_filter(g, s, 3, 1e-3), atol=TOL)
    g2, s2 = big_guide[:, ::2], big_src[:, ::2]  # not packed: copied on the way in
    np.testing.assert_allclose(run(backend, g2, s2, 3, 1e-3), ref.guided_filter(g2, s2, 3, 1e-3), atol=TOL)


GOOD_G = np.zeros((4, 5, 3), np.float32)
GOOD_P = np.zeros((4, 5), np.float32)


@pytest.mark.parametrize(
    "guide, src, radius, eps, match",
    [
        (np.zeros((0, 5, 3), np.float32), np.zeros((0, 5), np.float32), 1, 1e-3, "empty"),
        (np.zeros((4, 0), np.float32), np.zeros((4, 0), np.float32), 1, 1e-3, "empty"),
        (np.zeros((4, 5, 2), np.float32), GOOD_P, 1, 1e-3, "channels"),
        (np.zeros((4, 5, 4), np.float32), GOOD_P, 1, 1e-3, "channels"),
        (GOOD_G, np.zeros((4, 5, 3), np.float32), 1, 1e-3, "channels"),
        (np.zeros((4,), np.float32), GOOD_P, 1, 1e-3, "shape"),
        (GOOD_G, np.zeros((4, 6), np.float32), 1, 1e-3, "must match"),
        (GOOD_G, np.full((4, 5), np.nan, np.float32), 1, 1e-3, "NaN"),
        (np.full((4, 5, 3), np.inf, np.float32), GOOD_P, 1, 1e-3, "NaN or infinite"),
        (GOOD_G.astype(np.int64), GOOD_P, 1, 1e-3, "dtype"),
        (GOOD_G, GOOD_P.astype(np.complex64), 1, 1e-3, "dtype"),
        (GOOD_G, GOOD_P, -1, 1e-3, "radius"),
        (GOOD_G, GOOD_P, 1.5, 1e-3, "radius"),
        (GOOD_G, GOOD_P, True, 1e-3, "radius"),
        (GOOD_G, GOOD_P, 1, 0.0, "eps"),
        (GOOD_G, GOOD_P, 1, -1e-3, "eps"),
        (GOOD_G, GOOD_P, 1, float("nan"), "eps"),
        (GOOD_G, GOOD_P, 1, "small", "eps"),
        ("not an image", GOOD_P, 1, 1e-3, "dtype"),
    ],
)
def test_bad_input(guide, src, radius, eps, match):
    with pytest.raises(alphacut.InputError, match=match):
        ops.guided_filter(guide, src, radius, eps)


def test_unknown_backend():
    with pytest.raises(alphacut.Error, match="backend must be one of"):
        ops.guided_filter(GOOD_G, GOOD_P, 1, 1e-3, backend="tpu")


def test_native_entry_point_rejects_bad_arrays_cleanly():
    """The binding checks what the Python layer normally guarantees, without crashing."""
    from alphacut import _core

    with pytest.raises(alphacut.Error, match="dtype"):
        _core.guided_filter_cpu(GOOD_G.astype(np.float64), GOOD_P, 1, 1e-3)
    with pytest.raises(alphacut.Error, match="src has shape"):
        _core.guided_filter_cpu(GOOD_G, np.zeros((3, 5), np.float32), 1, 1e-3)
    with pytest.raises(alphacut.Error, match="1 or 3 channels"):
        _core.guided_filter_cpu(np.zeros((4, 5, 2), np.float32), GOOD_P, 1, 1e-3)
    with pytest.raises(alphacut.Error, match="eps"):
        _core.guided_filter_cpu(GOOD_G, GOOD_P, 1, 0.0)
    with pytest.raises(alphacut.Error, match="radius"):
        _core.guided_filter_cpu(GOOD_G, GOOD_P, -2, 1e-3)
    with pytest.raises(alphacut.Error, match="empty"):
        _core.guided_filter_cpu(np.zeros((0, 5, 3), np.float32), np.zeros((0, 5), np.float32), 1, 1e-3)
    with pytest.raises(alphacut.Error, match="1 dimensions"):
        _core.guided_filter_coefficients_cpu(np.zeros(5, np.float32), np.zeros(5, np.float32), 1, 1e-3)


# ---- the GPU kernels' two paths -------------------------------------------------------------
# guided_filter_cuda.cu runs radii up to FUSED_MAX (after clipping the radius to the image width
# - 1) through the fused shared-memory kernels, wider ones through the multi-pass kernels. The
# sizes below sit on the fused kernels' strip and band boundaries (r = 8: 112 output columns per
# 128-thread block, 64-row bands; r = 40: 176 per 256-thread block) and on both sides of the
# radius limit. On cpu they are more border cases for the CPU op.
FUSED_MAX = 96


def test_fused_radius_limit_is_the_documented_one():
    from alphacut import _core

    limits = [
        getattr(_core, f"guided_filter_fused_max_radius_{b}")
        for b in ("emu", "cuda")
        if hasattr(_core, f"guided_filter_fused_max_radius_{b}")
    ]
    if not limits:
        pytest.skip("no GPU guided_filter kernels in this build")
    assert limits == [FUSED_MAX] * len(limits)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(
    "shape, radius",
    [
        ((1, 1), 5),
        ((1, 301), 8),
        ((301, 1), 8),
        ((2, 2), 1),
        ((17, 33), 16),
        ((17, 33), 32),
        ((17, 33), 33),
        ((33, 17), 100),  # radius >= the image
        ((64, 112), 8),
        ((65, 113), 8),
        ((129, 225), 8),
        ((63, 111), 8),  # strip / band edges
        ((70, 176), 40),
        ((70, 177), 40),
        ((12, 353), 40),  # 256-thread blocks
        ((20, 300), FUSED_MAX),
        ((20, 300), FUSED_MAX + 1),
        ((20, FUSED_MAX + 1), FUSED_MAX + 1),
        ((3, 400), 150),
        ((1, 250), 200),
        ((90, 260), 120),  # past the limit: multi-pass
    ],
)
def test_gpu_paths_match_reference_and_cpu(backend, rng, shape, radius, channels):
    guide = random_guide(rng, shape, channels)
    src = rng.random(shape, dtype=np.float32)
    eps = 1e-4
    out = run(backend, guide, src, radius, eps)
    assert out.shape == shape and out.dtype == np.float32
    np.testing.assert_allclose(out, ref.guided_filter(guide, src, radius, eps), rtol=0, atol=TOL)
    # Every backend sums in double: they agree with the CPU op to 1e-5 (csrc/ops/README.md).
    np.testing.assert_allclose(out, ops.guided_filter(guide, src, radius, eps, backend="cpu"), rtol=0, atol=1e-5)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("shape, radius", [((65, 113), 8), ((17, 33), 40), ((20, 300), FUSED_MAX + 4)])
def test_gpu_paths_coefficients_and_uint8(backend, rng, shape, radius, channels):
    from alphacut.ops import guided_filter_coefficients

    guide = (random_guide(rng, shape, channels) * 255).astype(np.uint8)
    src = rng.integers(0, 256, shape, dtype=np.uint8)
    mean_a, mean_b = guided_filter_coefficients(guide, src, radius, 1e-3, backend=backend)
    ra, rb = ref.coefficients(guide, src, radius, 1e-3)
    np.testing.assert_allclose(mean_a, ra, rtol=0, atol=1e-4)
    np.testing.assert_allclose(mean_b, rb, rtol=0, atol=1e-4)
    ca, cb = guided_filter_coefficients(guide, src, radius, 1e-3, backend="cpu")
    np.testing.assert_allclose(mean_a, ca, rtol=0, atol=1e-5)
    np.testing.assert_allclose(mean_b, cb, rtol=0, atol=1e-5)
    out = run(backend, guide, src, radius, 1e-3)
    np.testing.assert_allclose(out, ref.guided_filter(guide, src, radius, 1e-3), rtol=0, atol=TOL)


def test_gpu_paths_real_image_flat_regions(backend):
    """eps = 1e-4 on a real photo with large flat areas: where var(I) ~ 0 the coefficients
    amplify any cancellation error in E[I^2] - E[I]^2 by 1 / eps, which float sums would show."""
    name = REAL[2]
    rgb = load_rgb(shared_path("images", "composites", "input", f"{name}.jpg"))[:300, :400]
    alpha = load_gray(shared_path("images", "composites", "alpha", f"{name}.png"))[:300, :400]
    from alphacut.ops import guided_filter_coefficients

    for radius in (4, FUSED_MAX + 10):
        mean_a, mean_b = guided_filter_coefficients(rgb, alpha, radius, 1e-4, backend=backend)
        ra, rb = ref.coefficients(rgb, alpha, radius, 1e-4)
        np.testing.assert_allclose(mean_a, ra, rtol=0, atol=1e-4)
        np.testing.assert_allclose(mean_b, rb, rtol=0, atol=1e-4)


def test_huge_values_are_refused(backend):
    # A src of values near 3.4e38 came back infinite where the filter extrapolates (a I + b).
    rng = np.random.default_rng(0)
    guide = rng.random((16, 16, 3), dtype=np.float32)
    src = ((rng.random((16, 16)) * 2 - 1) * 3.4e38).astype(np.float32)
    with pytest.raises(alphacut.InputError, match="src: values must lie within"):
        ops.guided_filter(guide, src, 2, 1e-6, backend=backend)
    with pytest.raises(alphacut.InputError, match="guide: values must lie within"):
        ops.guided_filter(src, guide[..., 0], 2, 1e-6, backend=backend)
    assert np.isfinite(ops.guided_filter(guide, src / np.float32(3.4e8), 2, 1e-6, backend=backend)).all()
