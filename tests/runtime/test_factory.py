"""The one runtime factory (create_runtime, load_runtime), its runtime names and their
deprecated spellings, lazy TensorRT imports, and the deprecated alphacut.backends alias."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import conftest
import numpy as np
import pytest

from alphacut import BackendUnavailableError, InputError, ModelError
from alphacut.models import custom_manifest, get_manifest
from alphacut.runtime import RUNTIMES, OrtRuntime, Runtime, create_runtime, load_runtime, tensorrt_unavailable_reason

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from _tiny_onnx import tiny_segmenter  # noqa: E402


def _tiny(tmp_path, *hw) -> Path:
    f = tmp_path / "tiny.onnx"
    f.write_bytes(tiny_segmenter(*hw))
    return f


def _has_cuda_provider() -> bool:
    return "CUDAExecutionProvider" in __import__("onnxruntime").get_available_providers()


def test_create_runtime_dispatch(tmp_path):
    f = _tiny(tmp_path)
    r = create_runtime(f)
    assert isinstance(r, OrtRuntime) and r.optimization == "all" and r.providers == ["CPUExecutionProvider"]
    r16 = create_runtime(f, runtime="onnxruntime", precision="fp16", threads=1)
    assert isinstance(r16, OrtRuntime) and r16.optimization == "none"
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    with r, r16:
        y32 = r.infer({"image": x})["mask"]
        y16 = r16.infer({"image": x})["mask"]
    assert y16.dtype == np.float32
    np.testing.assert_allclose(y16, y32, atol=2e-3)
    rc = create_runtime(f, runtime="onnxruntime-cuda")
    assert isinstance(rc, OrtRuntime) and rc.providers == ["CUDAExecutionProvider"]
    if not _has_cuda_provider():
        with pytest.raises(BackendUnavailableError, match="CUDAExecutionProvider.*onnxruntime-gpu"):
            rc.activate()
    with pytest.raises(InputError, match="runtime must be one of onnxruntime, onnxruntime-cuda, tensorrt, auto"):
        create_runtime(f, runtime="tflite")
    with pytest.raises(InputError, match="runtime must be one of"):
        create_runtime(f, runtime=["onnxruntime"])
    with pytest.raises(InputError, match="precision"):
        create_runtime(f, precision="int8")
    assert RUNTIMES == ("onnxruntime", "onnxruntime-cuda", "tensorrt", "auto")


def test_old_cuda_spelling_is_deprecated_and_means_the_ort_cuda_provider(tmp_path):
    f = _tiny(tmp_path)
    with pytest.warns(DeprecationWarning, match="runtime 'cuda' is deprecated; use 'onnxruntime-cuda'"):
        r = create_runtime(f, runtime="cuda")
    assert isinstance(r, OrtRuntime) and r.providers == ["CUDAExecutionProvider"]
    if not _has_cuda_provider():
        with pytest.warns(DeprecationWarning, match="onnxruntime-cuda"):
            with pytest.raises(BackendUnavailableError, match="onnxruntime-gpu"):
                load_runtime(custom_manifest(f), runtime="cuda")


def test_tensorrt_unavailable_is_clear(tmp_path):
    reason = tensorrt_unavailable_reason()
    if reason is None:
        pytest.skip("TensorRT is available here; tests/runtime/trt/test_tensorrt.py covers it")
    assert "tensorrt" in reason or "CUDA" in reason
    f = _tiny(tmp_path)
    with pytest.raises(BackendUnavailableError, match="runtime 'tensorrt' is not available.*runtime='onnxruntime'"):
        create_runtime(f, runtime="tensorrt", manifest=get_manifest("u2netp"))
    # auto falls back to ONNX Runtime
    assert isinstance(create_runtime(f, runtime="auto", manifest=get_manifest("u2netp")), OrtRuntime)


def test_tensorrt_needs_the_manifest(tmp_path, monkeypatch):
    from alphacut.runtime import factory

    monkeypatch.setattr(factory, "tensorrt_unavailable_reason", lambda: None)
    with pytest.raises(InputError, match="needs the model's manifest"):
        create_runtime(_tiny(tmp_path), runtime="tensorrt")
    # auto without a manifest stays on ONNX Runtime even where TensorRT could run
    assert isinstance(create_runtime(_tiny(tmp_path), runtime="auto"), OrtRuntime)


def test_package_imports_without_tensorrt():
    code = (
        "import sys, alphacut.runtime, alphacut.models; "
        "import alphacut.runtime.trt, alphacut.runtime.trt.runner; "
        "assert 'tensorrt' not in sys.modules; assert 'onnx' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_trt_names_are_lazy_attributes_of_the_package():
    import alphacut.runtime as rt
    from alphacut.runtime import trt

    for name in (
        "TensorRTRuntime",
        "EngineCache",
        "NetworkFromOnnxPath",
        "EngineFromNetwork",
        "SaveEngine",
        "EngineFromBytes",
        "build_or_load_engine",
    ):
        assert getattr(rt, name) is getattr(trt, name)
    assert issubclass(trt.TensorRTRuntime, Runtime)
    with pytest.raises(AttributeError):
        _ = rt.NoSuchThing


def test_load_runtime_resolves_activates_and_checks(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    sinet = conftest.shared_path("models", "sinet_320.onnx")
    r = load_runtime("sinet", sinet, threads=1)
    assert r.is_active and r.manifest.name == "sinet" and isinstance(r, OrtRuntime)
    y = r.infer({"data": np.zeros((1, 3, 320, 320), np.float32)})["Softmax/1"]
    assert y.shape == (1, 2, 320, 320)
    r.deactivate()
    # The wrong file for a manifest: one clear ModelError, and a wrong hash is caught first.
    with pytest.raises(ModelError, match="is not the 'sinet' model file"):
        load_runtime("sinet", conftest.shared_path("models", "mediapipe_selfie_segmentation_256x256.onnx"))
    f = _tiny(tmp_path, 8, 8)
    m = custom_manifest(f)
    with load_runtime(m) as r2:
        assert r2.input_names == ["image"]
    bad = custom_manifest(f, size=(8, 8))
    with pytest.raises(ModelError, match="expected 16x16"):
        load_runtime(replace(bad, input=replace(bad.input, size=(16, 16))))
    with pytest.raises(InputError, match="runtime must be one of"):
        load_runtime(m, runtime="gpu")


def test_load_runtime_deactivates_what_fails_the_check(tmp_path, monkeypatch):
    from alphacut.runtime import factory

    f = _tiny(tmp_path, 8, 8)
    m = custom_manifest(f)
    m = replace(m, input=replace(m.input, size=(16, 16)))
    made = []
    real = factory.create_runtime

    def recording(*a, **k):
        made.append(real(*a, **k))
        return made[-1]

    monkeypatch.setattr(factory, "create_runtime", recording)
    with pytest.raises(ModelError, match="expected 16x16"):
        load_runtime(m)
    assert len(made) == 1 and not made[0].is_active and made[0].session is None


# -- the deprecated alphacut.backends alias ------------------------------------------------------
def test_backends_alias_warns_and_maps_to_the_new_names(tmp_path):
    import alphacut.runtime as rt

    backends = importlib.import_module("alphacut.backends")
    for old, new in (
        ("Runner", rt.Runtime),
        ("OnnxRuntimeRunner", rt.OrtRuntime),
        ("TensorRTRunner", rt.TensorRTRuntime),
        ("EngineCache", rt.EngineCache),
        ("tensorrt_unavailable_reason", rt.tensorrt_unavailable_reason),
    ):
        with pytest.warns(DeprecationWarning, match=rf"alphacut\.backends\.{old} is deprecated; use alphacut\.runtime"):
            assert getattr(backends, old) is new
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no_such_name"):
            _ = backends.no_such_name
    assert {"create_runner", "create_model_runner", "Runner"} <= set(dir(backends))

    f = _tiny(tmp_path, 8, 8)
    with pytest.warns(DeprecationWarning, match="use alphacut.runtime.create_runtime"):
        create_runner = backends.create_runner
    r = create_runner(f, threads=1)  # the old default, "auto", is ONNX Runtime without a manifest
    assert isinstance(r, rt.OrtRuntime) and r.threads == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the alias has warned already: "cuda" maps silently
        assert create_runner(f, backend="cuda").providers == ["CUDAExecutionProvider"]
    with pytest.raises(InputError, match="runtime must be one of"):
        create_runner(f, backend="tflite")
    with pytest.warns(DeprecationWarning, match="use alphacut.runtime.load_runtime"):
        create_model_runner = backends.create_model_runner
    with create_model_runner(custom_manifest(f), backend="onnxruntime") as r2:
        assert r2.is_active and r2.input_names == ["image"]
