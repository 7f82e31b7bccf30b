"""dilate / erode / make_trimap at 12 MP, side by side with OpenCV (the same square kernel).

Run: PYTHONPATH=python python -m pytest bench/test_bench_morphology.py --benchmark-enable
Target: dilate and erode r=30 <= 20 ms at 12 MP on a 2-core machine; flat cost over r = 5 / 30 / 100.
"""

import cv2
import numpy as np
import pytest

from alphacut import ops


@pytest.fixture(scope="module")
def mask_12mp(photo_12mp):
    _, alpha = photo_12mp
    return alpha >= 128  # (3000, 4000) bool


def _cv2_kernel(r):
    return cv2.getStructuringElement(cv2.MORPH_RECT, (2 * r + 1, 2 * r + 1))


@pytest.mark.parametrize("impl", ["alphacut", "cv2"])
@pytest.mark.parametrize("op", ["dilate", "erode"])
def test_morph_r30_12mp(benchmark, mask_12mp, op, impl):
    benchmark.group = f"{op} r=30 12MP"
    if impl == "alphacut":
        fn = getattr(ops, op)
        out = benchmark(fn, mask_12mp, 30)
    else:
        # OpenCV's default border for erode/dilate is the identity element (outside = background for
        # dilate, foreground for erode): the same rule as alphacut.
        fn = getattr(cv2, op)
        m8, k = mask_12mp.view(np.uint8), _cv2_kernel(30)
        out = benchmark(fn, m8, k).astype(bool)
    ref = getattr(ops, op)(mask_12mp, 30)
    assert np.array_equal(out, ref)


@pytest.mark.parametrize("radius", [5, 30, 100])
@pytest.mark.parametrize("impl", ["alphacut", "cv2"])
def test_dilate_radius_sweep_12mp(benchmark, mask_12mp, impl, radius):
    benchmark.group = f"dilate radius sweep 12MP ({impl})"
    if impl == "alphacut":
        benchmark(ops.dilate, mask_12mp, radius)
    else:
        benchmark(cv2.dilate, mask_12mp.view(np.uint8), _cv2_kernel(radius))


@pytest.mark.parametrize("impl", ["alphacut", "cv2+numpy"])
def test_make_trimap_r10_12mp(benchmark, photo_12mp, impl):
    benchmark.group = "make_trimap r=10 12MP"
    _, alpha = photo_12mp
    if impl == "alphacut":
        out = benchmark(ops.make_trimap, alpha, 0.95, 0.05, 10)
    else:
        k = _cv2_kernel(10)
        fg_t, bg_t = np.float32(0.95), np.float32(0.05)

        def usual(a):  # what users write otherwise
            p = a.astype(np.float32) / np.float32(255)
            fg = cv2.erode((p >= fg_t).view(np.uint8), k)
            bg = cv2.erode((p <= bg_t).view(np.uint8), k)
            t = np.full(a.shape, 128, np.uint8)
            t[fg > 0] = 255
            t[bg > 0] = 0
            return t

        out = benchmark(usual, alpha)
    assert np.array_equal(out, ops.make_trimap(alpha, 0.95, 0.05, 10))
