"""The pipeline adapter against the real Session (skipped with the reason until the pipeline is in
this build)."""

import io

import pytest
from conftest import shared_path
from PIL import Image

import alphacut
from alphacut.bench import BenchConfig, run_benchmark
from alphacut.bench.adapter import PipelineTarget, check_backend
from alphacut.bench.inputs import procedural


def _api():
    try:
        from alphacut import session  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the pipeline (alphacut.session) is not in this build: {exc}")


def test_unknown_backend_is_a_user_error():
    with pytest.raises(alphacut.InputError, match="--backend"):
        check_backend("opencl")


def test_io_must_be_bytes_or_array():
    with pytest.raises(alphacut.InputError, match="io must be"):
        PipelineTarget(io="files")


@pytest.fixture(scope="module")
def u2netp():
    return str(shared_path("models", "u2netp_320.onnx"))


def test_bytes_target_times_decode_and_encode(u2netp):
    _api()
    t = PipelineTarget(model_path=u2netp, io="bytes")
    im = procedural((96, 128))
    data = t.prepare(im)
    assert data[:2] == b"\xff\xd8"  # JPEG in
    st = t.run(data)
    for stage in ("decode", "preprocess", "segment", "encode"):
        assert stage in st and st[stage] >= 0, st
    d = t.describe()
    assert d["backend"] == "cpu" and d["model"] == "u2netp"
    if "providers" in d:
        assert d["providers"] == ["CPUExecutionProvider"]


def test_array_target_skips_decode_and_encode(u2netp):
    _api()
    t = PipelineTarget(model_path=u2netp, io="array")
    st = t.run(t.prepare(procedural((96, 128))))
    assert "segment" in st and "decode" not in st and "encode" not in st


def test_encode_is_the_png_the_user_gets(u2netp):
    """The timed encode produces a valid RGBA PNG of the input's size."""
    _api()
    from alphacut.image import encode_png

    t = PipelineTarget(model_path=u2netp, io="bytes")
    im = procedural((96, 128))
    res = t.session.run(t.prepare(im))
    png = encode_png(res.rgba, compress_level=1)
    with Image.open(io.BytesIO(png)) as out:
        assert out.mode == "RGBA" and out.size == (128, 96)


def test_harness_over_the_pipeline(u2netp):
    _api()
    t = PipelineTarget(model_path=u2netp, io="bytes")
    rep = run_benchmark(t, [procedural((96, 128), "tiny")], BenchConfig(repeat=2, warmup=1, batch=1, memory=False))
    r = rep["results"][0]
    assert r["latency_ms"]["n"] == 2
    covered = sum(s["median"] for s in r["stages_ms"].values())
    # the stages account for most of the call, and never for more than it
    assert covered <= r["latency_ms"]["max"] * 1.05
    assert covered >= 0.5 * r["latency_ms"]["min"]
