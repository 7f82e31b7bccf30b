"""The post-processing after the network at 12 MP, side by side: on the GPU resident on the device
(``alphacut.pipeline.device.post_process``: one upload of the image, one download of the RGBA)
and the same stages on the CPU. Skipped (with the reason) where no CUDA device is present.

    python -m pytest bench/test_bench_cuda_pipeline.py --benchmark-enable \
        --benchmark-columns=median,iqr,min,max,rounds -s

The probability is a 320x320 bilinear shrink of the photo's matte (what a segmenter gives), so
the trimap band and the solve see a real edge. Per-stage medians go into ``extra_info``.
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest

import alphacut.device
from alphacut import ops
from alphacut.pipeline import get_mode, stages
from alphacut.pipeline.device import post_process

pytestmark = pytest.mark.skipif(
    not alphacut.device.is_available(), reason=f"no CUDA device: {alphacut.device.why_unavailable()}"
)


class _Timer:
    def __init__(self):
        self.ms = {}

    def __call__(self, name):
        import contextlib
        import time

        @contextlib.contextmanager
        def cm():
            t0 = time.perf_counter()
            yield
            self.ms.setdefault(name, []).append((time.perf_counter() - t0) * 1e3)

        return cm()


def _cpu_post(rgb, prob, mode, timer):
    H, W = rgb.shape[:2]
    work = stages.working_size((H, W), mode.work_pixels)
    with timer("resize"):
        rgb_w, prob_w = stages.to_working(ops.resize(rgb, work, method="area"), prob, work)
    with timer("trimap"):
        tri = stages.trimap(prob_w, mode)
    with timer("matting"):
        alpha_w = stages.solve_band(rgb_w, tri, prob_w, mode)
    with timer("upscale"):
        alpha = stages.upscale(alpha_w, rgb, mode)
    with timer("foreground"):
        fg = stages.foreground(rgb, alpha)
    with timer("compose"):
        return stages._pack(rgb, alpha, fg)


@pytest.mark.parametrize("impl", ["cuda", "cpu"])
def test_post_processing_12mp(benchmark, photo_12mp, impl):
    benchmark.group = "post-processing 12MP (trimap, solve, upscale, foreground, RGBA)"
    rgb, a8 = photo_12mp
    prob = np.clip(ops.resize(a8.astype(np.float32) / 255, (320, 320), method="area"), 0, 1)
    mode = get_mode("general")
    timer = _Timer()
    if impl == "cuda":
        def run():
            return post_process(rgb, prob, mode, "cuda", refine=True, want_fg=True, want_rgba=True, timer=timer)[1]
    else:
        def run():
            return _cpu_post(rgb, prob, mode, timer)
    out = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    assert out.shape == rgb.shape[:2] + (4,)
    benchmark.extra_info["stages_ms"] = {k: round(statistics.median(v), 3) for k, v in timer.ms.items()}
    print(f"\n{impl}: " + ", ".join(f"{k} {statistics.median(v):.2f} ms" for k, v in timer.ms.items()))
