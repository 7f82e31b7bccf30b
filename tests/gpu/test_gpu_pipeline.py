"""The device-resident post-processing on a real GPU (``backend="cuda"``) against the CPU
pipeline, on the real photos and u2netp. Skipped, with the reason, where no CUDA device is
present; tests/pipeline/test_device_pipeline.py runs the same kernels emulated on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import COMPOSITES, load_gray, load_rgb, shared_path

from alphacut import device

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not device.is_available(), reason=f"no CUDA device: {device.why_unavailable()}"),
]


@pytest.mark.parametrize("name", COMPOSITES[:4])
def test_cuda_pipeline_matches_cpu(name):
    from alphacut import Session
    from alphacut.metrics import matte_errors

    path = shared_path("models", "u2netp_320.onnx")
    rgb = load_rgb(shared_path("images", "composites", "input", f"{name}.jpg"))
    gt = load_gray(shared_path("images", "composites", "alpha", f"{name}.png"))
    cpu = Session("u2netp", model_path=path)
    gpu = Session("u2netp", model_path=path, backend="cuda")
    device.transfer_stats("cuda", reset=True)
    r_gpu = gpu.run(rgb)
    stats = device.transfer_stats("cuda", reset=True)
    r_cpu = cpu.run(rgb)
    assert (stats["uploads"], stats["downloads"]) == (3, 1), stats  # image, working image, probability
    a_gpu, a_cpu = r_gpu.rgba[:, :, 3].astype(int), r_cpu.rgba[:, :, 3].astype(int)
    diff = np.abs(a_gpu - a_cpu)
    assert diff.mean() < 0.25 and np.percentile(diff, 99.9) <= 8, (diff.mean(), diff.max())
    sad_gpu, sad_cpu = (matte_errors(a.astype(np.float32) / 255, gt)["sad"] for a in (a_gpu, a_cpu))
    assert sad_gpu <= 1.02 * sad_cpu + 0.05, (sad_gpu, sad_cpu)
