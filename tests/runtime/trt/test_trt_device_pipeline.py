"""TensorRT on the device inside the device pipeline, on a real GPU: the image goes up once, the
preprocess kernel writes the engine's input binding, the probability is copied out of its output
binding on the device, and only the cutout comes down. Compared with ONNX Runtime and the CPU
pipeline on shared photos. Skipped with the reason where TensorRT or a CUDA device is missing;
tests/pipeline/test_device_segment.py runs the same plan on the emulated device."""

from __future__ import annotations

import conftest
import numpy as np
import pytest

from alphacut import device
from alphacut.models import get_manifest

pytestmark = [pytest.mark.gpu, pytest.mark.trt]


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory):
    from alphacut.runtime import EngineCache, OrtRuntime, create_runtime, tensorrt_unavailable_reason

    reason = tensorrt_unavailable_reason()
    if reason is not None:
        pytest.skip(f"TensorRT runtime unavailable: {reason}")
    if not device.is_available():
        pytest.skip(f"no CUDA device: {device.why_unavailable()}")
    path = conftest.shared_path("models", "u2netp_320.onnx")
    m = get_manifest("u2netp")
    cache = EngineCache(tmp_path_factory.mktemp("engines"))
    trt_rt = create_runtime(path, runtime="tensorrt", precision="fp32", manifest=m, engine_cache=cache)
    assert trt_rt.runs_on_device("cuda") and not trt_rt.runs_on_device("emu")
    return m, trt_rt, OrtRuntime(str(path))


def _iou(a, b):
    return float((a & b).sum()) / max(1, int((a | b).sum()))


def test_segment_on_device_matches_onnxruntime(runtimes):
    """The runner alone: the preprocess kernel into the binding, the engine, the copied plane,
    against ONNX Runtime on the host-preprocessed input of the same 320 x 320 image."""
    from alphacut import ops
    from alphacut.pipeline.network import normalise
    from alphacut.runtime.trt.runner import segment_on_device

    m, trt_rt, ort_rt = runtimes
    rgb = conftest.load_rgb(conftest.shared_path("images", "composites", "input", f"{conftest.COMPOSITES[0]}.jpg"))
    small = ops.resize(rgb, (320, 320), method="area")
    ref = ort_rt.infer({"input.1": normalise(small, m.input)})["1959"][0, 0]
    img = device.to_device(small, "cuda")
    segment_on_device(trt_rt, img, m, backend="cuda", copy=True)  # allocates the bindings
    device.transfer_stats("cuda", reset=True)
    plane = segment_on_device(trt_rt, img, m, backend="cuda", copy=True)
    assert device.transfer_stats("cuda", reset=True)["uploads"] == 0
    got = plane.get()
    assert np.abs(got - ref).max() <= 1e-3, np.abs(got - ref).max()
    assert _iou(got > 0.5, ref > 0.5) >= 0.999


@pytest.mark.parametrize("refine", [False, True], ids=["plain", "refined"])
@pytest.mark.parametrize("name", conftest.COMPOSITES[:2])
def test_tensorrt_pipeline_on_the_device_matches_onnxruntime(runtimes, name, refine):
    from alphacut.pipeline import Pipeline

    m, trt_rt, ort_rt = runtimes
    rgb = conftest.load_rgb(conftest.shared_path("images", "composites", "input", f"{name}.jpg"))
    dev = Pipeline(m, trt_rt, "general", backend="cuda")
    host = Pipeline(m, ort_rt, "general", backend="cpu")
    dev.run(rgb, refine=refine)  # the first call allocates the engine's bindings
    device.transfer_stats("cuda", reset=True)
    r_dev = dev.run(rgb, refine=refine)
    stats = device.transfer_stats("cuda", reset=True)
    r_host = host.run(rgb, refine=refine)
    assert r_dev.info["segment"] == "device", r_dev.info
    # Up: the image once; down: the cutout once; the probability never leaves the device.
    assert (stats["uploads"], stats["upload_bytes"]) == (1, rgb.nbytes), stats
    assert (stats["downloads"], stats["download_bytes"]) == (1, rgb.shape[0] * rgb.shape[1] * 4), stats
    a_dev, a_host = r_dev.alpha, r_host.alpha
    iou = _iou(a_dev > 0.5, a_host > 0.5)
    diff = np.abs(a_dev - a_host)
    print(f"\n{name} refine={refine}: IoU {iou:.4f}, mean |diff| {diff.mean():.5f}")
    assert iou >= 0.99, iou
    assert diff.mean() < 0.01, diff.mean()
