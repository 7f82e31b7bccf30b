"""resize 12 MP -> 320 x 320 and 320 x 320 -> 12 MP, side by side with cv2.resize.

Run: PYTHONPATH=python python -m pytest bench/test_bench_resize.py --benchmark-enable
"""

import cv2
import numpy as np
import pytest

from alphacut import ops

CV2 = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "bicubic": cv2.INTER_CUBIC}


@pytest.fixture(scope="module")
def small_320(photo_12mp):
    rgb, _ = photo_12mp
    return cv2.resize(rgb, (320, 320), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("impl", ["alphacut", "cv2"])
@pytest.mark.parametrize("method", ["bilinear", "area", "bicubic"])
def test_down_12mp_to_320(benchmark, photo_12mp, method, impl):
    benchmark.group = f"resize 12MP->320x320 {method}"
    rgb, _ = photo_12mp
    if impl == "alphacut":
        out = benchmark(ops.resize, rgb, (320, 320), method)
    else:
        out = benchmark(cv2.resize, rgb, (320, 320), interpolation=CV2[method])
    assert out.shape == (320, 320, 3)


@pytest.mark.parametrize("impl", ["alphacut", "cv2"])
@pytest.mark.parametrize("method", ["bilinear", "bicubic"])
def test_up_320_to_12mp(benchmark, small_320, method, impl):
    benchmark.group = f"resize 320x320->12MP {method}"
    if impl == "alphacut":
        out = benchmark(ops.resize, small_320, (3000, 4000), method)
    else:
        out = benchmark(cv2.resize, small_320, (4000, 3000), interpolation=CV2[method])
    assert out.shape == (3000, 4000, 3)


@pytest.mark.parametrize("impl", ["alphacut", "cv2"])
def test_up_alpha_320_to_12mp(benchmark, photo_12mp, impl):
    # The pipeline's use: a network's 320 x 320 float32 matte back to full size.
    benchmark.group = "resize alpha f32 320x320->12MP bilinear"
    _, alpha = photo_12mp
    a = cv2.resize(alpha, (320, 320), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    if impl == "alphacut":
        out = benchmark(ops.resize, a, (3000, 4000))
    else:
        out = benchmark(cv2.resize, a, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    assert out.shape == (3000, 4000)
