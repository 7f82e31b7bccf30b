"""upscale_alpha 320 x 320 -> 12 MP (4000 x 3000), side by side with a bilinear cv2.resize of the
alpha, which is what users do otherwise (rembg resizes its mask with PIL). Target: <= 60 ms.

    python -m pytest bench/test_bench_upscale_alpha.py --benchmark-enable

Inputs: the uint8 12 MP photo as the guide and a float32 320 x 320 alpha (the 12 MP alpha
area-averaged down, as a segmentation network's output would be). alphacut runs its defaults
(radius 1, eps 1e-4 at 320 x 320).
"""

import numpy as np
import pytest

from alphacut import ops

GROUP = "upscale_alpha-320-to-12mp"


@pytest.fixture(scope="module")
def alpha_320(photo_12mp):
    from alphacut import _core

    return _core.area_downscale_cpu(photo_12mp[1], 320, 320)


@pytest.mark.benchmark(group=GROUP)
def test_alphacut_upscale_alpha(benchmark, photo_12mp, alpha_320):
    rgb = photo_12mp[0]
    ops.upscale_alpha(alpha_320, rgb)  # first touch of the code and the allocator
    q = benchmark.pedantic(ops.upscale_alpha, args=(alpha_320, rgb), rounds=9, iterations=1)
    assert q.shape == rgb.shape[:2] and q.dtype == np.float32


@pytest.mark.benchmark(group=GROUP)
def test_opencv_bilinear_resize(benchmark, photo_12mp, alpha_320):
    cv2 = pytest.importorskip("cv2")
    h, w = photo_12mp[0].shape[:2]
    q = benchmark.pedantic(
        cv2.resize, args=(alpha_320, (w, h)), kwargs={"interpolation": cv2.INTER_LINEAR}, rounds=9, iterations=1
    )
    assert q.shape == (h, w)
