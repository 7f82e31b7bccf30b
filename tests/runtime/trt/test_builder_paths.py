"""The TensorRT build and run logic against a stand-in ``tensorrt`` with the attribute sets of
the real 10.x and 11.x bindings (fake_trt.py): which network and flags each version gets, TF32,
the cache key, rebuilding a plan that does not deserialise, and the device path on the emulated
GPU (the engine reads the buffer the preprocess kernel wrote; the trimap kernel reads its output
in place; nothing goes through the host)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import fake_trt  # noqa: E402

from alphacut import InputError, ModelError, ops  # noqa: E402
from alphacut.models.manifest import InputSpec, ModelManifest, OutputSpec  # noqa: E402
from alphacut.runtime.trt import CachedEngine, EngineCache, TensorRTRuntime  # noqa: E402
from alphacut.runtime.trt import gpu as trt_gpu  # noqa: E402

onnx = pytest.importorskip("onnx")
TP = onnx.TensorProto


@pytest.fixture
def tiny_onnx(tmp_path):
    import tiny_models as tm

    path = tm.segmenter(tmp_path / "seg.onnx", size=(64, 64))
    man = ModelManifest(
        name="tiny_seg",
        kind="segmenter",
        file="seg.onnx",
        input=InputSpec(name="input", size=(64, 64)),
        output=OutputSpec(channel=1, activation="softmax"),
    )
    return path, man


@pytest.fixture
def gpu(monkeypatch):
    """The GPU the calling thread's context is on, as the driver would report it."""
    state = {"gpu": trt_gpu.Gpu(0, "NVIDIA H100 80GB HBM3", "9.0", 81000)}
    monkeypatch.setattr(trt_gpu, "current_gpu", lambda: state["gpu"])
    return state


def use(monkeypatch, version):
    trt = fake_trt.make(version)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    return trt


def plan_of(cache: EngineCache, key: str) -> dict:
    return json.loads(cache.get(key).decode())


def test_the_fixture_is_the_real_bindings_api():
    """Recorded from the wheels: FP16 is a builder flag up to 10.x and gone in 11.x."""
    assert "FP16" in fake_trt.API[fake_trt.V10]["BuilderFlag"]
    assert "FP16" not in fake_trt.API[fake_trt.V11]["BuilderFlag"]
    assert "TF32" in fake_trt.API[fake_trt.V11]["BuilderFlag"]
    with pytest.raises(AttributeError):
        fake_trt.make(fake_trt.V11).BuilderFlag.FP16  # noqa: B018


@pytest.mark.parametrize("precision", ["fp16", None])
def test_fp16_on_10x_is_the_builder_flag_on_the_fp32_onnx(monkeypatch, tmp_path, tiny_onnx, gpu, precision):
    use(monkeypatch, fake_trt.V10)
    path, man = tiny_onnx
    cached = CachedEngine(path, man, precision=precision, cache=EngineCache(tmp_path / "c"))
    plan = json.loads(cached().decode())
    assert plan["builder_flags"] == ["FP16"]  # FP16 set, TF32 cleared
    assert plan["strongly_typed"] is False and plan["source"] == "file" and plan["fp16_weights"] is False
    side = cached.cache.sidecar(cached.key)
    assert side["precision"] == "fp16" and side["fp16_flag"] is True and side["strongly_typed"] is False


def test_fp16_on_11x_is_a_strongly_typed_network_from_the_fp16_onnx(monkeypatch, tmp_path, tiny_onnx, gpu):
    use(monkeypatch, fake_trt.V11)
    path, man = tiny_onnx
    cached = CachedEngine(path, man, cache=EngineCache(tmp_path / "c"))  # the spec's default: fp16
    plan = json.loads(cached().decode())
    assert plan["strongly_typed"] is True
    assert plan["builder_flags"] == []  # no FP16 flag exists; TF32 cleared
    assert plan["source"] == "bytes" and plan["fp16_weights"] is True and TP.FLOAT not in plan["init_types"]
    assert plan["input_types"] == [TP.FLOAT] and plan["output_types"] == [TP.FLOAT]  # FP32 I/O
    assert plan["profiles"] == [{"input": [[1, 3, 64, 64]] * 3}]
    assert cached.cache.sidecar(cached.key)["fp16_onnx"] is True


@pytest.mark.parametrize("version", [fake_trt.V10, fake_trt.V11])
def test_fp32_engines_clear_tf32(monkeypatch, tmp_path, tiny_onnx, gpu, version):
    use(monkeypatch, version)
    path, man = tiny_onnx
    plan = json.loads(CachedEngine(path, man, precision="fp32", cache=EngineCache(tmp_path))().decode())
    assert "TF32" not in plan["builder_flags"] and "FP16" not in plan["builder_flags"]
    assert plan["source"] == "file" and plan["fp16_weights"] is False
    assert plan["strongly_typed"] is (version == fake_trt.V11)


def test_tf32_kept_when_the_spec_asks(monkeypatch, tmp_path, tiny_onnx, gpu):
    use(monkeypatch, fake_trt.V11)
    path, man = tiny_onnx
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "tiny_seg.json").write_text(json.dumps({"tf32": True, "precision": "fp32"}))
    plan = json.loads(CachedEngine(path, man, spec_dir=tmp_path / "specs", cache=EngineCache(tmp_path))().decode())
    assert plan["builder_flags"] == ["TF32"]


def test_cache_key_follows_version_gpu_precision(monkeypatch, tmp_path, tiny_onnx, gpu):
    path, man = tiny_onnx
    cache = EngineCache(tmp_path)
    keys = set()
    for version in (fake_trt.V10, fake_trt.V11):
        use(monkeypatch, version)
        for precision in ("fp16", "fp32"):
            c = CachedEngine(path, man, precision=precision, cache=cache)
            c()
            keys.add(c.key)
    assert len(keys) == 4
    # The GPU the thread's context is on (device 1 here), by name and by architecture.
    for other in (trt_gpu.Gpu(1, "NVIDIA H200", "9.0", 141000), trt_gpu.Gpu(1, "NVIDIA H100 80GB HBM3", "8.9", 1)):
        gpu["gpu"] = other
        c = CachedEngine(path, man, cache=cache)
        c()
        assert c.key not in keys and cache.sidecar(c.key)["gpu_index"] == 1
        keys.add(c.key)
    assert len(cache.entries()) == 6


def test_a_plan_that_does_not_deserialise_is_rebuilt(monkeypatch, tmp_path, tiny_onnx, gpu):
    trt = use(monkeypatch, fake_trt.V11)
    path, man = tiny_onnx
    cache = EngineCache(tmp_path)
    c = CachedEngine(path, man, cache=cache)
    c()
    cache.path(c.key).write_bytes(b"\x00truncated")
    trt.log.clear()
    c2 = CachedEngine(path, man, cache=cache)
    engine = c2.deserialize()
    assert c2.rebuilt and trt.log == ["build", "deserialize"]
    assert engine.plan["strongly_typed"] is True and plan_of(cache, c2.key)["fake_plan"] == 1
    # A plan that still does not deserialise after the rebuild is an error, not a loop.
    monkeypatch.setattr(trt.Runtime, "deserialize_cuda_engine", lambda self, plan: None)
    with pytest.raises(ModelError, match="deserialise"):
        CachedEngine(path, man, cache=cache).deserialize()


# ---- the device path on the emulated GPU ----------------------------------------------------


@pytest.fixture
def emu_runtime(monkeypatch, tmp_path, tiny_onnx, gpu):
    from alphacut import device

    if not device._core.built_with_emu:
        pytest.fail("this alphacut is built without the emulation (-DALPHACUT_EMU=ON)")
    trt = use(monkeypatch, fake_trt.V11)
    path, man = tiny_onnx
    rt = TensorRTRuntime(CachedEngine(path, man, cache=EngineCache(tmp_path)), device_backend="emu")
    rt.activate()
    return trt, rt


def _red_disk():
    import tiny_models as tm

    rgb, _ = tm.red_disk(150, 200)
    return rgb


def test_preprocess_writes_the_engine_input_and_trimap_reads_its_output_in_place(emu_runtime):
    from alphacut import device

    trt, rt = emu_runtime
    rgb = _red_disk()
    img = device.to_device(rgb, "emu")
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    for call in range(2):  # the second call reuses the bindings
        device.transfer_stats("emu", reset=True)
        x = rt.input_buffer("input", (1, 3, 64, 64))
        ops.preprocess_into(x, img, mean=mean, std=std, backend="emu")
        outs = rt.execute()
        prob = outs["prob"].plane(0, 0)
        tri = ops.make_trimap(prob, radius=2, backend="emu")
        stats = device.transfer_stats("emu")
        if call == 1:
            assert stats["uploads"] == 0 and stats["downloads"] == 0, stats
        seen = trt.contexts[-1].seen[-1]
        assert seen["input_ptr"] == x.__cuda_array_interface__["data"][0]
        assert prob.__cuda_array_interface__["data"][0] == trt.contexts[-1].addresses["prob"]
        assert prob.__cuda_array_interface__["stream"] == rt.stream
        assert device.is_device_array(tri)
    # What the engine read is the preprocess of the image (the CPU op, an independent path) ...
    ref_x = ops.preprocess(rgb, (64, 64), mean=mean, std=std, backend="cpu")
    np.testing.assert_allclose(seen["input"], ref_x, atol=1e-5)
    # ... and the trimap is the one of the probability the engine wrote, computed on the host.
    ref_p = 1.0 / (1.0 + np.exp(-20.0 * (ref_x[0, 0] - ref_x[0, 2])))
    np.testing.assert_allclose(prob.get(), ref_p, atol=1e-4)
    np.testing.assert_array_equal(tri.get(), ops.make_trimap(prob.get(), radius=2, backend="cpu"))


def test_host_feeds_are_uploaded_once_and_outputs_downloaded(emu_runtime):
    from alphacut import device

    trt, rt = emu_runtime
    x = np.random.default_rng(0).uniform(-0.5, 0.5, size=(2, 3, 32, 48)).astype(np.float32)
    device.transfer_stats("emu", reset=True)
    y = rt.infer({"input": x})["prob"]
    assert isinstance(y, np.ndarray) and y.shape == (2, 1, 32, 48)
    np.testing.assert_allclose(y, 1.0 / (1.0 + np.exp(-20.0 * (x[:, 0:1] - x[:, 2:3]))), atol=1e-5)
    stats = device.transfer_stats("emu")
    assert stats["uploads"] >= 1 and stats["downloads"] == 1
    with pytest.raises(InputError, match="profile"):
        rt.infer({"input": np.zeros((1, 4, 8, 8), np.float32)})
    with pytest.raises(InputError, match="float32"):
        rt.infer({"input": np.zeros((1, 3, 8, 8), np.float64)})


class ForeignDeviceArray:
    """What CuPy, PyTorch, Numba or pycuda hand over: only ``__cuda_array_interface__``."""

    def __init__(self, arr):
        self._arr = arr
        self.__cuda_array_interface__ = dict(arr.__cuda_array_interface__)


def test_foreign_device_arrays_are_bound_zero_copy(emu_runtime):
    from alphacut import device

    trt, rt = emu_runtime
    x = np.random.default_rng(1).normal(size=(1, 3, 16, 16)).astype(np.float32)
    foreign = ForeignDeviceArray(device.to_device(x, "emu"))
    rt.infer({"input": foreign})  # allocates the output binding (to_device: _core's one allocator)
    device.transfer_stats("emu", reset=True)
    out = rt.infer({"input": foreign})["prob"]
    assert trt.contexts[-1].seen[-1]["input_ptr"] == foreign.__cuda_array_interface__["data"][0]
    assert device.is_device_array(out)
    assert device.transfer_stats("emu") == {"uploads": 0, "upload_bytes": 0, "downloads": 0, "download_bytes": 0}
    np.testing.assert_allclose(out.get(), 1.0 / (1.0 + np.exp(-20.0 * (x[:, 0:1] - x[:, 2:3]))), atol=1e-5)
    bad = ForeignDeviceArray(device.to_device(np.zeros((1, 3, 4, 4), np.float16), "emu"))
    with pytest.raises(InputError, match="float32"):
        rt.infer({"input": bad})


def test_tensorrt_defaults_to_the_specs_fp16_and_onnxruntime_to_fp32(monkeypatch, tmp_path, tiny_onnx, gpu):
    import alphacut.runtime.factory as factory
    from alphacut.cli import build_parser
    from alphacut.runtime import OrtRuntime, create_runtime

    use(monkeypatch, fake_trt.V11)
    monkeypatch.setattr(factory, "tensorrt_unavailable_reason", lambda: None)
    path, man = tiny_onnx
    rt = create_runtime(path, runtime="tensorrt", manifest=man, engine_cache=EngineCache(tmp_path))
    assert isinstance(rt, TensorRTRuntime) and rt._engine_src.spec.precision == "fp16"
    rt32 = create_runtime(path, runtime="tensorrt", precision="fp32", manifest=man, engine_cache=EngineCache(tmp_path))
    assert rt32._engine_src.spec.precision == "fp32"
    ort_rt = create_runtime(path, runtime="onnxruntime")
    assert isinstance(ort_rt, OrtRuntime) and ort_rt.source == str(path)  # the FP32 file itself, not a conversion
    for cmd in (["cut", "x.jpg"], ["serve"]):
        assert build_parser().parse_args(cmd).precision is None


def test_segment_on_device_matches_the_host_path(emu_runtime):
    """The device segment (preprocess kernel into the binding, the engine, the output plane)
    gives the probability the host path gives (NumPy preprocessing of the manifest's formula,
    the engine's documented function), with no transfer once the image is on the device."""
    from alphacut import device
    from alphacut.models.manifest import InputSpec, ModelManifest, OutputSpec
    from alphacut.runtime.trt import segment_on_device

    trt, rt = emu_runtime
    man = ModelManifest(
        name="tiny_prob",
        kind="segmenter",
        file="seg.onnx",
        input=InputSpec(name="input", size=(64, 64), mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3)),
        output=OutputSpec(name="prob", channel=0, activation="none"),
    )
    rgb = np.ascontiguousarray(_red_disk()[:64, :64])
    img = device.to_device(rgb, "emu")
    segment_on_device(rt, img, man, backend="emu")  # allocates the bindings
    device.transfer_stats("emu", reset=True)
    prob = segment_on_device(rt, img, man, backend="emu")
    tri = ops.make_trimap(prob, radius=1, backend="emu")
    assert device.transfer_stats("emu")["uploads"] == 0 and device.transfer_stats("emu")["downloads"] == 0
    x = (rgb.astype(np.float64) / 255.0 - np.array(man.input.mean)) / np.array(man.input.std)
    ref = 1.0 / (1.0 + np.exp(-20.0 * (x[..., 0] - x[..., 2])))
    np.testing.assert_allclose(prob.get(), ref, atol=1e-4)
    assert device.is_device_array(tri) and prob.shape == (64, 64)
    with pytest.raises(InputError, match="softmax"):
        segment_on_device(rt, img, replace_output(man, activation="softmax"), backend="emu")


def replace_output(man, **kw):
    from dataclasses import replace

    return replace(man, output=replace(man.output, **kw))
