"""The post-processing after the network at 12 MP, side by side: on the GPU resident on the device
(``Pipeline(backend="cuda")``: one upload of the image and its working copy, one download of the
RGBA) and the same stages on the CPU, both through the pipeline's one stage loop with the
network's answer fixed. Skipped (with the reason) where no CUDA device is present.

    python -m pytest bench/test_bench_cuda_pipeline.py --benchmark-enable \
        --benchmark-columns=median,iqr,min,max,rounds -s

The probability is a 320x320 bilinear shrink of the photo's matte (what a segmenter gives), so
the trimap band and the solve see a real edge. Per-stage medians go into ``extra_info``.
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from alphacut import device, ops
from alphacut.models.manifest import InputSpec, ModelManifest, OutputSpec
from alphacut.pipeline import Pipeline

pytestmark = pytest.mark.skipif(not device.is_available(), reason=f"no CUDA device: {device.why_unavailable()}")


class _FixedRuntime:
    """A network runtime that answers every call with the same probability, so only the stages
    after the network are measured."""

    input_names = ["input"]
    output_names = ["p"]

    def __init__(self, prob: np.ndarray):
        self.prob = prob[None, None]

    def infer(self, feeds):
        return {"p": self.prob}


@pytest.mark.parametrize("impl", ["cuda", "cpu"])
def test_post_processing_12mp(benchmark, photo_12mp, impl):
    benchmark.group = "post-processing 12MP (trimap, solve, upscale, foreground, RGBA)"
    rgb, a8 = photo_12mp
    prob = np.clip(ops.resize(a8.astype(np.float32) / 255, (320, 320), method="area"), 0, 1)
    man = ModelManifest(
        name="fixed", kind="segmenter", file="-", input=InputSpec(name="input", size=(320, 320)), output=OutputSpec()
    )
    pipe = Pipeline(man, _FixedRuntime(prob), "general", backend=impl)
    stages_ms = {}

    def run():
        res = pipe.run(rgb)
        for k, v in res.timings.items():
            if k not in ("preprocess", "segment"):
                stages_ms.setdefault(k, []).append(v)
        return res.rgba

    out = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    assert out.shape == rgb.shape[:2] + (4,)
    benchmark.extra_info["stages_ms"] = {k: round(statistics.median(v), 3) for k, v in stages_ms.items()}
    print(f"\n{impl}: " + ", ".join(f"{k} {statistics.median(v):.2f} ms" for k, v in stages_ms.items()))
