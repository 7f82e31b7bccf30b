"""estimate_foreground at 12 MP (4000 x 3000), side by side with pymatting's estimate_foreground_ml,
which is what users reach for otherwise. Target: <= 300 ms on 2 cores.

    python -m pytest bench/test_bench_estimate_foreground.py --benchmark-enable

Both take the photo as it comes (uint8 RGB and uint8 alpha); pymatting needs floats in [0, 1], so
its timing includes that conversion, as it would in use. pymatting's numba kernels are compiled
(and cached) on a small image before timing; at 12 MP it runs a few seconds, so it gets one round.
"""

import numpy as np
import pytest

from alphacut import ops

GROUP = "estimate_foreground-12mp"


@pytest.mark.benchmark(group=GROUP)
def test_alphacut_12mp(benchmark, photo_12mp):
    rgb, alpha = photo_12mp
    ops.estimate_foreground(rgb, alpha)  # first touch of the code and the allocator
    f = benchmark.pedantic(ops.estimate_foreground, args=(rgb, alpha), rounds=7, iterations=1)
    assert f.shape == (*alpha.shape, 3) and f.dtype == np.float32


@pytest.mark.benchmark(group=GROUP)
def test_alphacut_12mp_with_background(benchmark, photo_12mp):
    rgb, alpha = photo_12mp
    f, b = benchmark.pedantic(
        lambda: ops.estimate_foreground(rgb, alpha, return_background=True), rounds=5, iterations=1
    )
    assert b.shape == f.shape


@pytest.mark.benchmark(group=GROUP)
def test_pymatting_ml_12mp(benchmark, photo_12mp):
    pymatting = pytest.importorskip("pymatting")
    rgb, alpha = photo_12mp
    pymatting.estimate_foreground_ml(np.random.default_rng(0).random((64, 64, 3)), np.full((64, 64), 0.5))  # JIT

    def run():
        return pymatting.estimate_foreground_ml(rgb / 255.0, alpha / 255.0)

    f = benchmark.pedantic(run, rounds=1, iterations=1)
    assert f.shape == (*alpha.shape, 3)
