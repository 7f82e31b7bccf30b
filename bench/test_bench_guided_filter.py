"""guided_filter at 12 MP (4000 x 3000), side by side with OpenCV's cv2.ximgproc.guidedFilter, which
is what users reach for otherwise. Target: colour r = 8 <= 150 ms on 2 cores.

    python -m pytest bench/test_bench_guided_filter.py --benchmark-enable

Both take the photo as it comes: a uint8 RGB (or grey) guide and the uint8 alpha. OpenCV is given
its uint8 guide too (its float32 colour path is less accurate, see tests/ops/test_guided_filter.py),
with eps in its 0..255 units (eps * 255**2) and the alpha as float32 in [0, 1]; converting the
alpha is part of its timing, as it would be in use. Same radius and eps on both sides.
"""

import numpy as np
import pytest

from alphacut import ops

RADIUS, EPS = 8, 1e-3


def _grey(rgb):
    return (rgb.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])).astype(np.uint8)


@pytest.fixture(scope="module")
def grey_12mp(photo_12mp):
    return _grey(photo_12mp[0])


@pytest.mark.benchmark(group="guided_filter-colour-12mp")
def test_alphacut_colour_12mp(benchmark, photo_12mp):
    rgb, alpha = photo_12mp
    ops.guided_filter(rgb, alpha, RADIUS, EPS)  # first touch of the code and the allocator
    q = benchmark.pedantic(ops.guided_filter, args=(rgb, alpha, RADIUS, EPS), rounds=7, iterations=1)
    assert q.shape == alpha.shape and q.dtype == np.float32


@pytest.mark.benchmark(group="guided_filter-colour-12mp")
def test_opencv_colour_12mp(benchmark, photo_12mp):
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2, "ximgproc"):
        pytest.skip("cv2.ximgproc (opencv-contrib) is not installed")
    rgb, alpha = photo_12mp

    def run():
        return cv2.ximgproc.guidedFilter(rgb, alpha.astype(np.float32) / 255, RADIUS, EPS * 255**2, -1)

    q = benchmark.pedantic(run, rounds=3, iterations=1)
    assert q.shape == alpha.shape


@pytest.mark.benchmark(group="guided_filter-grey-12mp")
def test_alphacut_grey_12mp(benchmark, photo_12mp, grey_12mp):
    alpha = photo_12mp[1]
    ops.guided_filter(grey_12mp, alpha, RADIUS, EPS)
    q = benchmark.pedantic(ops.guided_filter, args=(grey_12mp, alpha, RADIUS, EPS), rounds=7, iterations=1)
    assert q.shape == alpha.shape


@pytest.mark.benchmark(group="guided_filter-grey-12mp")
def test_opencv_grey_12mp(benchmark, photo_12mp, grey_12mp):
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2, "ximgproc"):
        pytest.skip("cv2.ximgproc (opencv-contrib) is not installed")
    alpha = photo_12mp[1]

    def run():
        return cv2.ximgproc.guidedFilter(grey_12mp, alpha.astype(np.float32) / 255, RADIUS, EPS * 255**2, -1)

    q = benchmark.pedantic(run, rounds=3, iterations=1)
    assert q.shape == alpha.shape
