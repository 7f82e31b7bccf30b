"""The emulated CUDA kernels against the CPU ops, op by op, on awkward sizes (1x1, 1xN, Nx1,
sizes off the block grid, radius larger than the image) and real images, with the tolerance
each op states. (tests/ops run every op's own tests on emu too; this file pins the agreement.)"""

import numpy as np
import pytest
from conftest import load_gray, load_rgb, shared_path

from alphacut import _core

pytestmark = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")

SIZES = [(1, 1), (1, 37), (29, 1), (17, 33), (40, 70), (65, 9)]


def both(name):
    cpu, emu = getattr(_core, f"{name}_cpu", None), getattr(_core, f"{name}_emu", None)
    if cpu is None or emu is None:
        pytest.skip(f"{name} has no cpu/emu pair in this build")
    return cpu, emu


def _img(rng, shape, dtype):
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape, dtype=np.float32)


# guided filter: sums in double on both sides; coefficients rounded to float32 on both.
GF_TOL = 1e-5


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("radius", [0, 1, 4, 100])
def test_guided_filter(rng, size, channels, radius):
    cpu, emu = both("guided_filter")
    guide = _img(rng, size + ((3,) if channels == 3 else ()), np.float32)
    src = _img(rng, size, np.float32)
    for eps in (1e-4, 1e-2):
        np.testing.assert_allclose(emu(guide, src, radius, eps), cpu(guide, src, radius, eps), rtol=0, atol=GF_TOL)


@pytest.mark.parametrize("gdt, sdt", [(np.uint8, np.uint8), (np.uint8, np.float32), (np.float32, np.uint8)])
def test_guided_filter_dtypes_and_coefficients(rng, gdt, sdt):
    cpu, emu = both("guided_filter")
    ccpu, cemu = both("guided_filter_coefficients")
    guide, src = _img(rng, (23, 31, 3), gdt), _img(rng, (23, 31), sdt)
    np.testing.assert_allclose(emu(guide, src, 3, 1e-3), cpu(guide, src, 3, 1e-3), rtol=0, atol=GF_TOL)
    for got, want in zip(cemu(guide, src, 3, 1e-3), ccpu(guide, src, 3, 1e-3)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=GF_TOL)


def test_guided_filter_real_image():
    cpu, emu = both("guided_filter")
    rgb = load_rgb(shared_path("images", "alphamatting_gt05", "input", "GT05.jpg"))
    a = load_gray(shared_path("images", "alphamatting_gt05", "alpha", "GT05.jpg"))
    np.testing.assert_allclose(emu(rgb, a, 8, 1e-4), cpu(rgb, a, 8, 1e-4), rtol=0, atol=GF_TOL)


# upscale_alpha: the same float operations in the same order; the coefficients differ by the
# guided filter's GF_TOL at most, amplified by |I| <= 1 per channel.
UA_TOL = 4e-5


@pytest.mark.parametrize(
    "low, full", [((1, 1), (1, 1)), ((1, 1), (9, 7)), ((5, 8), (17, 33)), ((16, 12), (64, 48)), ((7, 1), (29, 3))]
)
@pytest.mark.parametrize("channels", [1, 3])
def test_upscale_alpha(rng, low, full, channels):
    cpu, emu = both("upscale_alpha")
    a = _img(rng, low, np.float32)
    g = _img(rng, full + ((3,) if channels == 3 else ()), np.uint8)
    np.testing.assert_allclose(emu(a, g, 2, 1e-4), cpu(a, g, 2, 1e-4), rtol=0, atol=UA_TOL)


def test_area_downscale(rng):
    # Same operations in the same order; the CPU op's AVX2 clone may contract them into FMAs.
    cpu, emu = both("area_downscale")
    for dt in (np.uint8, np.float32):
        src = _img(rng, (37, 53, 3), dt)
        for h, w in [(1, 1), (5, 7), (37, 53), (12, 20)]:
            np.testing.assert_allclose(emu(src, h, w), cpu(src, h, w), rtol=0, atol=1e-6)


def test_upscale_alpha_real_image():
    cpu, emu = both("upscale_alpha")
    from PIL import Image

    rgb = load_rgb(shared_path("images", "alphamatting_gt05", "input", "GT05.jpg"))
    a = load_gray(shared_path("images", "alphamatting_gt05", "alpha", "GT05.jpg"))
    h, w = rgb.shape[0] // 4, rgb.shape[1] // 4
    low = np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR))
    np.testing.assert_allclose(emu(low, rgb, 2, 1e-4), cpu(low, rgb, 2, 1e-4), rtol=0, atol=UA_TOL)


# Binary morphology and trimaps: exact (the same comparisons, integer counts).
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("radius", [0, 1, 3, 70])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_dilate_erode_exact(rng, size, radius, dtype):
    for name in ("dilate", "erode"):
        cpu, emu = both(name)
        m = (
            (rng.random(size) > 0.7).astype(dtype)
            if dtype != np.uint8
            else (rng.random(size) > 0.7).astype(np.uint8) * 7
        )
        got, want = emu(m, radius), cpu(m, radius)
        assert got.dtype == want.dtype == np.bool_
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("radius", [0, 2, 50])
def test_make_trimap_exact(rng, size, radius):
    cpu, emu = both("make_trimap")
    for prob in (rng.random(size).astype(np.float32), rng.integers(0, 256, size, dtype=np.uint8), rng.random(size)):
        np.testing.assert_array_equal(emu(prob, 0.9, 0.1, radius), cpu(prob, 0.9, 0.1, radius))


def test_make_trimap_real_matte():
    cpu, emu = both("make_trimap")
    a = load_gray(shared_path("images", "alphamatting_gt05", "alpha", "GT05.jpg"))
    np.testing.assert_array_equal(emu(a, 0.95, 0.05, 10), cpu(a, 0.95, 0.05, 10))


# resize: float32 within 1e-5 of values in [0, 1]; uint8 within 1 level (a float32 sum on
# either side of a .5 rounding boundary).
@pytest.mark.parametrize("method", [0, 1, 2])
@pytest.mark.parametrize(
    "src, dst",
    [
        ((1, 1), (3, 5)),
        ((17, 33), (5, 7)),
        ((17, 33), (40, 70)),
        ((9, 1), (4, 1)),
        ((40, 70), (40, 70)),
        ((64, 48), (7, 300)),
    ],
)
def test_resize(rng, method, src, dst):
    cpu, emu = both("resize")
    for shape in (src, src + (3,)):
        f = rng.random(shape, dtype=np.float32)
        got, want = emu(f, *dst, method), cpu(f, *dst, method)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
        u = rng.integers(0, 256, shape, dtype=np.uint8)
        diff = np.abs(emu(u, *dst, method).astype(int) - cpu(u, *dst, method).astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01
