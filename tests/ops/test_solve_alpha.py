"""solve_alpha against independent references: pymatting's matting Laplacian with a SciPy sparse
solve, exactly recoverable two-colour scenes, pymatting's closed-form matting on real composites."""

import numpy as np
import pytest
from conftest import COMPOSITES as ALL_COMPOSITES
from conftest import load_gray, load_rgb, shared_path

import alphacut
from alphacut import ops
from alphacut.metrics import matte_errors


def reference_solve(image, trimap, prior=None, weight=0.0, confidence=0.0, eps=1e-6):
    """The band system (L_UU + Λ) α_U = Λ prior_U − L_UK α_K built from pymatting's Laplacian and
    solved directly with SciPy; float64 throughout."""
    import scipy.sparse
    import scipy.sparse.linalg
    from pymatting import cf_laplacian

    img = image.astype(np.float64) / (255.0 if image.dtype == np.uint8 else 1.0)
    L = cf_laplacian(img, epsilon=eps, radius=1).tocsr()
    t = trimap.ravel()
    unknown = (t != 0) & (t != 255)
    known = ~unknown
    a_k = (t[known] == 255).astype(np.float64)
    lam = np.zeros(unknown.sum())
    p = np.full(unknown.sum(), 0.5)
    if prior is not None:
        p = np.clip(prior.ravel()[unknown].astype(np.float64), 0, 1)
        lam = weight * np.abs(2 * p - 1) ** confidence if confidence else np.full(p.shape, weight)
    A = L[unknown][:, unknown] + scipy.sparse.diags(lam)
    b = lam * p - L[unknown][:, known] @ a_k
    out = (t == 255).astype(np.float64)
    out[unknown] = scipy.sparse.linalg.spsolve(A.tocsc(), b)
    return np.clip(out.reshape(trimap.shape), 0, 1)


def smooth_random_image(rng, h, w):
    from scipy import ndimage

    img = rng.random((h, w, 3))
    return np.clip(ndimage.gaussian_filter(img, (1.0, 1.0, 0)) * 1.5 - 0.25, 0, 1).astype(np.float32)


def two_colour_scene(h=48, w=64):
    """I = αF + (1 − α)B with constant F and B: α is an affine function of the colour, so it lies in
    the null space of the matting Laplacian (up to ε) and is recoverable exactly."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    alpha = np.clip((xx - 20 - 6 * np.sin(yy / 7)) / 18, 0, 1)
    fg = np.array([0.9, 0.35, 0.2], np.float32)
    bg = np.array([0.1, 0.55, 0.85], np.float32)
    img = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    tri = np.full((h, w), 128, np.uint8)
    tri[xx < 8] = 0
    tri[xx > w - 8] = 255
    return img.astype(np.float32), tri, alpha


# ----------------------------------------------------------------------------------------------
# Exactness against references


@pytest.mark.parametrize("eps", [1e-4, 1e-6])
def test_matches_pymatting_laplacian_solve(backend, rng, eps):
    img = smooth_random_image(rng, 26, 31)
    tri = np.full((26, 31), 128, np.uint8)
    tri[:6] = 0
    tri[-5:] = 255
    tri[10:14, :4] = 255
    ref = reference_solve(img, tri, eps=eps)
    out = ops.solve_alpha(img, tri, eps=eps, tol=1e-10, max_iter=5000, backend=backend)
    np.testing.assert_allclose(out, ref, atol=2e-4)


@pytest.mark.parametrize("confidence", [0.0, 2.0])
def test_matches_reference_with_prior(backend, rng, confidence):
    img = smooth_random_image(rng, 30, 25)
    tri = np.full((30, 25), 128, np.uint8)
    tri[:, :5] = 0
    tri[:, -4:] = 255
    prior = np.clip(rng.random((30, 25)) * 0.6 + np.linspace(0, 0.5, 25)[None], 0, 1).astype(np.float32)
    ref = reference_solve(img, tri, prior, weight=0.05, confidence=confidence)
    out = ops.solve_alpha(
        img, tri, prior=prior, prior_weight=0.05, prior_confidence=confidence, tol=1e-10, max_iter=5000, backend=backend
    )
    np.testing.assert_allclose(out, ref, atol=2e-4)


def test_prior_weight_pulls_towards_prior(backend, rng):
    img = smooth_random_image(rng, 24, 24)
    tri = np.full((24, 24), 128, np.uint8)
    tri[:3] = 0
    tri[-3:] = 255
    prior = np.full((24, 24), 0.8, np.float32)
    u = tri == 128
    dev = []
    for w in (0.0, 0.1, 10.0, 1e4):
        a = ops.solve_alpha(img, tri, prior=prior, prior_weight=w, tol=1e-8, max_iter=3000, backend=backend)
        dev.append(np.abs(a[u] - 0.8).mean())
    assert dev[0] > dev[1] > dev[2] > dev[3]
    assert dev[3] < 1e-3  # a dominant data term returns the prior


def test_two_colour_scene_recovered(backend):
    img, tri, alpha = two_colour_scene()
    out = ops.solve_alpha(img, tri, eps=1e-7, tol=1e-9, max_iter=5000, backend=backend)
    u = tri == 128
    err = np.abs(out - alpha)[u]
    assert err.max() < 0.02, err.max()
    assert err.mean() < 0.005, err.mean()
    # Plain baselines are far off on the same band.
    assert np.abs(0.5 - alpha)[u].mean() > 0.2


def test_two_colour_scene_noisy_uint8(backend, rng):
    img, tri, alpha = two_colour_scene(60, 80)
    noisy = np.clip(img * 255 + rng.normal(0, 1.0, img.shape), 0, 255).round().astype(np.uint8)
    out = ops.solve_alpha(noisy, tri, eps=1e-5, tol=1e-7, max_iter=5000, backend=backend)
    err = np.abs(out - alpha)[tri == 128]
    assert err.mean() < 0.03, err.mean()


# The emulated kernels cost ~2 us per unknown pixel and CG iteration (fibers, not a GPU): on emu
# the iteration-heavy tests run on smaller scenes and the composites at half size (< 0.25 MP).
EMU_SMALL = {"emu"}


def test_levels_agree_with_single_level(backend, rng):
    # 64 x 96 still has > 4096 unknowns, so a coarse level is solved first.
    img, tri, _ = two_colour_scene(*((64, 96) if backend in EMU_SMALL else (96, 128)))
    img = np.clip(img + rng.normal(0, 0.01, img.shape), 0, 1).astype(np.float32)
    one = ops.solve_alpha(img, tri, tol=1e-9, max_iter=5000, backend=backend)
    three, info = ops.solve_alpha(img, tri, tol=1e-9, max_iter=5000, levels=3, return_info=True, backend=backend)
    np.testing.assert_allclose(three, one, atol=2e-3)
    assert info["unknown"] == int((tri == 128).sum())


def test_threads_give_the_same_answer(backend, rng):
    # > 8192 unknowns: two CPU threads take part; on emu > 1024: several blocks, scheduled on one
    # or two host threads, and the fixed-order reductions make the results bit-identical.
    img, tri, _ = two_colour_scene(*((48, 64) if backend in EMU_SMALL else (160, 200)))
    img = np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1).astype(np.float32)
    prev = ops.get_num_threads()
    try:
        ops.set_num_threads(1)
        a1 = ops.solve_alpha(img, tri, tol=1e-8, max_iter=3000, backend=backend)
        ops.set_num_threads(2)
        a2 = ops.solve_alpha(img, tri, tol=1e-8, max_iter=3000, backend=backend)
    finally:
        ops.set_num_threads(prev)
    np.testing.assert_allclose(a1, a2, atol=1e-4)
    if backend in EMU_SMALL:
        np.testing.assert_array_equal(a1, a2)


# ----------------------------------------------------------------------------------------------
# Contract: sure pixels, range, degenerate trimaps, dtypes


def test_sure_pixels_untouched_and_range(backend, rng):
    img = (rng.random((40, 50, 3)) * 255).astype(np.uint8)
    tri = rng.choice(np.array([0, 128, 255], np.uint8), size=(40, 50), p=[0.3, 0.4, 0.3])
    prior = rng.random((40, 50)).astype(np.float32)
    out = ops.solve_alpha(img, tri, prior=prior, backend=backend)
    assert out.dtype == np.float32 and out.shape == (40, 50)
    assert (out[tri == 0] == 0).all() and (out[tri == 255] == 1).all()
    assert out.min() >= 0 and out.max() <= 1


def test_no_unknown_returns_trimap_scaled(backend, rng):
    img = rng.random((20, 30, 3)).astype(np.float32)
    tri = np.where(rng.random((20, 30)) > 0.5, 255, 0).astype(np.uint8)
    out, info = ops.solve_alpha(img, tri, prior=rng.random((20, 30)), return_info=True, backend=backend)
    np.testing.assert_array_equal(out, tri / np.float32(255))
    assert info["unknown"] == 0 and info["iterations"] == 0


def test_any_non_sure_value_is_unknown_and_float_trimap(backend, rng):
    img, tri, _ = two_colour_scene()
    tri_other = tri.copy()
    tri_other[tri == 128] = 77
    a = ops.solve_alpha(img, tri, tol=1e-8, backend=backend)
    np.testing.assert_array_equal(ops.solve_alpha(img, tri_other, tol=1e-8, backend=backend), a)
    ftri = (tri / 255.0).astype(np.float32)  # 128/255 is unknown, 0 and 1 are sure
    np.testing.assert_array_equal(ops.solve_alpha(img, ftri, tol=1e-8, backend=backend), a)


def test_uint8_and_float_image_agree(backend, rng):
    img = (smooth_random_image(rng, 30, 40) * 255).round().astype(np.uint8)
    tri = np.full((30, 40), 128, np.uint8)
    tri[:, :6] = 0
    tri[:, -6:] = 255
    a = ops.solve_alpha(img, tri, tol=1e-9, max_iter=4000, backend=backend)
    b = ops.solve_alpha(img / 255.0, tri, tol=1e-9, max_iter=4000, backend=backend)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_tiny_and_all_unknown_images(backend):
    # Smaller than a window: no Laplacian terms; the prior (or 0.5) is the answer.
    img = np.zeros((2, 2, 3), np.float32)
    tri = np.full((2, 2), 128, np.uint8)
    np.testing.assert_allclose(ops.solve_alpha(img, tri, backend=backend), 0.5)
    p = np.array([[0.1, 0.9], [0.3, 0.7]], np.float32)
    np.testing.assert_allclose(ops.solve_alpha(img, tri, prior=p, backend=backend), p, atol=1e-6)
    # Everything unknown and no prior: a flat image stays at the start value without NaNs.
    out = ops.solve_alpha(np.full((16, 16, 3), 0.3, np.float32), np.full((16, 16), 128, np.uint8), backend=backend)
    assert np.isfinite(out).all() and np.allclose(out, 0.5, atol=1e-3)


def test_strided_inputs(backend, rng):
    img = smooth_random_image(rng, 40, 60)
    tri = np.full((40, 60), 128, np.uint8)
    tri[:, :8] = 0
    tri[:, -8:] = 255
    a = ops.solve_alpha(img[5:35, 10:50], tri[5:35, 10:50], tol=1e-9, max_iter=3000, backend=backend)
    b = ops.solve_alpha(img[5:35, 10:50].copy(), tri[5:35, 10:50].copy(), tol=1e-9, max_iter=3000, backend=backend)
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------------
# Bad input


GOOD_IMG = np.zeros((8, 9, 3), np.float32)
GOOD_TRI = np.full((8, 9), 128, np.uint8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(image=np.zeros((0, 0, 3), np.float32), trimap=np.zeros((0, 0), np.uint8)), "empty"),
        (dict(image=np.zeros((8, 9, 4), np.float32)), "channels"),
        (dict(image=np.zeros((8, 9), np.float32)), "expected"),
        (dict(image=np.full((8, 9, 3), np.nan, np.float32)), "NaN"),
        (dict(image=np.zeros((8, 9, 3), np.int64)), "dtype"),
        (dict(trimap=np.full((8, 10), 128, np.uint8)), "must match"),
        (dict(trimap=np.full((8, 9, 3), 128, np.uint8)), "expected"),
        (dict(trimap=np.full((8, 9), 2.0, np.float32)), r"\[0, 1\]"),
        (dict(trimap=np.full((8, 9), 128, np.int32)), "dtype"),
        (dict(prior=np.full((8, 9), np.nan, np.float32)), "NaN"),
        (dict(prior=np.full((7, 9), 0.5, np.float32)), "must match"),
        (dict(prior=np.full((8, 9), 1.5, np.float32)), r"\[0, 1\]"),
        (dict(eps=0.0), "eps"),
        (dict(eps=float("nan")), "eps"),
        (dict(prior_weight=-1.0), "prior_weight"),
        (dict(prior_confidence=-1.0), "prior_confidence"),
        (dict(max_iter=-3), "max_iter"),
        (dict(tol=-1.0), "tol"),
        (dict(levels=1.5), "levels"),
        (dict(backend="tpu"), "backend must be one of"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(image=GOOD_IMG, trimap=GOOD_TRI)
    args.update(kwargs)
    image, trimap = args.pop("image"), args.pop("trimap")
    with pytest.raises(alphacut.InputError, match=match):
        ops.solve_alpha(image, trimap, **args)


def test_native_entry_checks_shapes():
    """The native entry point checks shapes itself (no crash when called directly)."""
    from alphacut import _core

    with pytest.raises(alphacut.Error, match="trimap has shape"):
        _core.solve_alpha_cpu(GOOD_IMG, np.full((3, 3), 128, np.uint8), None, None, 1e-6, 0.0, 0.0, 10, 1e-4)
    with pytest.raises(alphacut.Error, match="start has shape"):
        _core.solve_alpha_cpu(GOOD_IMG, GOOD_TRI, None, np.zeros((2, 2), np.float32), 1e-6, 0.0, 0.0, 10, 1e-4)
    with pytest.raises(alphacut.Error, match="dtype"):
        _core.solve_alpha_cpu(GOOD_IMG.astype(np.float64), GOOD_TRI, None, None, 1e-6, 0.0, 0.0, 10, 1e-4)


# ----------------------------------------------------------------------------------------------
# Real composites with their exact GT and GT trimaps


SLOW_COMPOSITES = ALL_COMPOSITES[2:]
COMPOSITES = ALL_COMPOSITES[:2]


def _composite(name):
    root = shared_path("images", "composites")
    return (
        load_rgb(root / "input" / f"{name}.jpg"),
        load_gray(root / "alpha" / f"{name}.png"),
        load_gray(root / "trimap" / f"{name}.png"),
    )


def _check_composite(name, backend):
    from pymatting import estimate_alpha_cf
    from scipy import ndimage

    img, gt, tri = _composite(name)
    if backend in EMU_SMALL:  # half size: 0.07 - 0.14 MP
        from alphacut.ops._solve_alpha import _down2, _down2_trimap

        img = _down2(img.astype(np.float32)).round().astype(np.uint8)
        gt = _down2(gt.astype(np.float32)).round().astype(np.uint8)
        tri = _down2_trimap(tri)
    band = (tri != 0) & (tri != 255)
    ours = ops.solve_alpha(img, tri, eps=1e-6, tol=1e-5, max_iter=2000, levels=2, backend=backend)
    cf = np.clip(estimate_alpha_cf(img / 255.0, tri / 255.0), 0, 1)
    half = np.where(band, 0.5, tri / 255.0)
    blurred = np.where(band, ndimage.gaussian_filter(tri / 255.0, 5), tri / 255.0)

    def sad_band(a):
        return matte_errors(a, gt, band)["sad_band"]

    s_ours, s_cf, s_half, s_blur = sad_band(ours), sad_band(cf), sad_band(half), sad_band(blurred)
    # Well below the plain fills of the band, and within 15 % of pymatting's closed form.
    assert s_ours < 0.35 * s_half, (s_ours, s_half)
    assert s_ours < 0.6 * s_blur, (s_ours, s_blur)
    assert s_ours < 1.15 * s_cf, (s_ours, s_cf)


@pytest.mark.parametrize("name", COMPOSITES)
def test_composites_gt_trimap(name, backend):
    _check_composite(name, backend)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_COMPOSITES)
def test_composites_gt_trimap_all(name, backend):
    if backend in EMU_SMALL:
        pytest.skip("emu checks the kernels on the quick composites (half size); all composites run on cpu and cuda")
    _check_composite(name, backend)


def test_docstring_example_runs():
    import doctest
    import sys

    import alphacut.ops  # noqa: F401 - loads the module under its package name

    result = doctest.testmod(sys.modules["alphacut.ops._solve_alpha"])
    assert result.attempted > 0 and result.failed == 0
