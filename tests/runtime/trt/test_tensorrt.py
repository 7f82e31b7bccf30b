"""TensorRTRuntime on a GPU: build from the real ONNX, cache, run, compare with ONNX Runtime.

Skipped with the reason where TensorRT or a CUDA device is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import conftest
import numpy as np
import pytest

from alphacut.models import get_manifest

sys.path.insert(0, str(Path(__file__).parents[1]))
from _prep import foreground, iou, preprocess  # noqa: E402

pytestmark = [pytest.mark.gpu, pytest.mark.trt]


@pytest.fixture(scope="module")
def trt_ready():
    from alphacut.runtime import tensorrt_unavailable_reason

    reason = tensorrt_unavailable_reason()
    if reason is not None:
        pytest.skip(f"TensorRT runtime unavailable: {reason}")


@pytest.mark.parametrize("precision,max_diff,min_iou", [("fp32", 1e-3, 0.999), ("fp16", 0.30, 0.99)])
def test_u2netp_engine_matches_onnxruntime(trt_ready, tmp_path, precision, max_diff, min_iou):
    from alphacut.runtime import EngineCache, OrtRuntime, TensorRTRuntime, create_runtime

    path = conftest.shared_path("models", "u2netp_320.onnx")
    m = get_manifest("u2netp")
    cache = EngineCache(tmp_path / "engines")
    rgb = conftest.load_rgb(conftest.shared_path("images", "alphamatting_gt05", "input", "GT05.jpg"))
    x = preprocess(rgb, m)
    rt = create_runtime(path, runtime="tensorrt", precision=precision, manifest=m, engine_cache=cache)
    assert isinstance(rt, TensorRTRuntime)
    with rt, OrtRuntime(path) as ref:
        a = foreground(ref.infer({"input.1": x}), m, ref.output_names)
        b = foreground(rt.infer({"input.1": x}), m, rt.output_names)
        b2 = foreground(rt.infer({"input.1": x}), m, rt.output_names)
    np.testing.assert_array_equal(b, b2)
    assert np.abs(a - b).max() <= max_diff
    assert iou(a > 0.5, b > 0.5) >= min_iou
    plans = list((tmp_path / "engines").glob("*.plan"))
    assert len(plans) == 1
    side = EngineCache(tmp_path / "engines").sidecar(plans[0].stem)
    assert side["precision"] == precision and side["model"] == "u2netp"
    # A second runtime loads the cached plan instead of building.
    mtime = plans[0].stat().st_mtime_ns
    with create_runtime(path, runtime="tensorrt", precision=precision, manifest=m, engine_cache=cache) as r2:
        r2.infer({"input.1": x})
    assert plans[0].stat().st_mtime_ns == mtime


def test_dynamic_profile_pp_humanseg(trt_ready, tmp_path):
    from alphacut import InputError
    from alphacut.runtime import EngineCache, create_runtime

    path = conftest.shared_path("models", "pp_humansegv1_lite_224x398.onnx")
    m = get_manifest("pp-humanseg-v1-lite")
    with create_runtime(
        path, runtime="tensorrt", precision="fp16", manifest=m, engine_cache=EngineCache(tmp_path)
    ) as r:
        for hw in ((144, 256), (224, 398), (448, 796)):
            y = r.infer({"x": np.zeros((1, 3) + hw, np.float32)})[m.output.name]
            assert y.shape == (1, 2) + hw
        with pytest.raises(InputError, match="profile"):
            r.infer({"x": np.zeros((1, 3, 1000, 1000), np.float32)})
