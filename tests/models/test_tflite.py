"""alphacut's TFLite → ONNX converter on the MediaPipe selfie models of the shared data: the same
outputs as the shared ONNX conversions on real images, bit-for-bit reproducible output."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import load_rgb, shared_path

from alphacut.errors import ModelError
from alphacut.models import get_manifest

pytest.importorskip("onnx")

from alphacut.models.tflite import convert, read_tflite  # noqa: E402

PAIRS = [
    ("mediapipe-selfie", "mediapipe_selfie_segmentation.tflite", "mediapipe_selfie_segmentation_256x256.onnx"),
    (
        "mediapipe-selfie-landscape",
        "mediapipe_selfie_segmentation_landscape.tflite",
        "mediapipe_selfie_segmentation_landscape_144x256.onnx",
    ),
]


@pytest.fixture(scope="module")
def converted():
    return {name: convert(shared_path("models", tfl).read_bytes()) for name, tfl, _ in PAIRS}


def _real_images():
    images = shared_path("images")
    paths = sorted(images.glob("composites/input/*.jpg")) + sorted(images.glob("alphamatting_gt05/input/*.jpg"))
    paths += sorted(images.glob("rembg/input/*.jpg"))
    assert len(paths) >= 12
    return paths


@pytest.mark.parametrize("name,tfl,ref", PAIRS)
def test_converted_graph_matches_the_shared_onnx_on_real_images(converted, name, tfl, ref):
    """Within 1e-4 of the shared ONNX (itself checked against the MediaPipe runtime) on every real
    image of the shared data, preprocessed as the manifest says. Measured: 0 (identical floats)."""
    import onnxruntime as ort

    from alphacut.pipeline.network import preprocess

    m = get_manifest(name)
    ours = ort.InferenceSession(converted[name], providers=["CPUExecutionProvider"])
    theirs = ort.InferenceSession(str(shared_path("models", ref)), providers=["CPUExecutionProvider"])
    assert [i.name for i in ours.get_inputs()] == ["input"] and [o.name for o in ours.get_outputs()] == ["mask"]
    assert ours.get_inputs()[0].shape == theirs.get_inputs()[0].shape
    worst = 0.0
    for p in _real_images():
        x = preprocess(load_rgb(p), m.input)
        a = ours.run(None, {"input": x})[0]
        b = theirs.run(None, {"input": x})[0]
        assert a.shape == b.shape == (1, 1, *m.input.size)
        worst = max(worst, float(np.abs(a - b).max()))
    print(f"{name}: max abs difference vs the shared ONNX over {len(_real_images())} images: {worst:.3g}")
    assert worst <= 1e-4


@pytest.mark.parametrize("name,tfl,ref", PAIRS)
def test_conversion_is_deterministic_and_pinned(converted, name, tfl, ref):
    data = shared_path("models", tfl).read_bytes()
    m = get_manifest(name)
    assert hashlib.sha256(data).hexdigest() == m.converted_from.member_sha256  # the wheel's member
    again = convert(data)
    assert again == converted[name]
    assert m.accepts("sha256", hashlib.sha256(again).hexdigest())  # what fetch checks


def test_read_tflite_sees_the_graph():
    g = read_tflite(shared_path("models", "mediapipe_selfie_segmentation.tflite").read_bytes())
    assert g.tensors[g.inputs[0]].shape == (1, 256, 256, 3)
    assert g.tensors[g.outputs[0]].shape == (1, 256, 256, 1)
    assert g.op_counts["CONV_2D"] == 43 and g.op_counts["DEQUANTIZE"] == 110
    assert g.op_counts["CUSTOM:Convolution2DTransposeBias"] == 1


def test_what_the_converter_cannot_read_is_a_model_error(monkeypatch):
    import alphacut.models.tflite as tfl

    with pytest.raises(ModelError, match="TFL3"):
        convert(b"not a flatbuffer at all")
    g = read_tflite(shared_path("models", "mediapipe_selfie_segmentation.tflite").read_bytes())
    g.ops[2].kind = "BUILTIN_999"
    monkeypatch.setattr(tfl, "read_tflite", lambda data: g)
    with pytest.raises(ModelError, match="BUILTIN_999 is not supported"):
        convert(b"")
