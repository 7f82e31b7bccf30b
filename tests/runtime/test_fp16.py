"""FP16 numerics checked on the CPU: the graph converted to float16 (float32 I/O kept) and run by
ONNX Runtime without graph optimisation, against the float32 model on real images. This is the
acceptance check for TensorRT FP16 engines, done without a GPU.

Tolerances (probability maps at the network's resolution; IoU of the maps thresholded at 0.5):

============================  ==========  ============  ==========  ==========
model                         max |diff|  99.9th pct    mean        IoU@0.5
============================  ==========  ============  ==========  ==========
u2netp (8 images)             <= 0.30     <= 0.15       <= 0.005    >= 0.97 each, >= 0.99 on
                                                                    GT05 and rembg's fixtures
mediapipe-selfie (5 images)   <= 2e-3     --            <= 1e-4     >= 0.999
sinet, pp-humanseg (5)        <= 0.03     --            <= 2e-3     >= 0.985
============================  ==========  ============  ==========  ==========

Measured: u2netp max 0.06-0.16, mean <= 0.0035, IoU 0.979-0.999 (the lowest on portrait
composites where u2netp itself is unsure); MediaPipe max 3e-4; SINet/PP-HumanSeg max <= 0.018.
"""

from __future__ import annotations

import sys
from pathlib import Path

import conftest
import numpy as np
import pytest

from alphacut import ModelError
from alphacut.models import get_manifest
from alphacut.runtime import OrtRuntime, create_runtime
from alphacut.runtime.fp16 import convert

onnx = pytest.importorskip("onnx", reason="FP16 conversion needs the onnx package (pip install onnx)")

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from _prep import foreground, iou, preprocess  # noqa: E402
from _tiny_onnx import tiny_segmenter  # noqa: E402

STRICT = [
    ("alphamatting_gt05", "GT05.jpg"),
    ("rembg", "car-1.jpg"),
    ("rembg", "cloth-1.jpg"),
    ("rembg", "anime-girl-1.jpg"),
]
PORTRAITS = [
    ("composites", f"{n}.jpg")
    for n in (
        "p3m_p_09ba26b4__on_leaves",
        "p3m_p_514ca06a__on_GT26r",
        "p3m_p_514ca06a__on_beach",
        "p3m_p_bd6af989__on_GT26r",
    )
]
FILES = {
    "u2netp": "u2netp_320.onnx",
    "mediapipe-selfie": "mediapipe_selfie_segmentation_256x256.onnx",
    "sinet": "sinet_320.onnx",
    "pp-humanseg-v1-lite": "pp_humansegv1_lite_224x398.onnx",
}


def _maps(name: str, images):
    m = get_manifest(name)
    path = conftest.shared_path("models", FILES[name])
    r32 = create_runtime(path, threads=1)
    r16 = create_runtime(path, precision="fp16", threads=1)
    out = []
    with r32, r16:
        for folder, file in images:
            rgb = conftest.load_rgb(conftest.shared_path("images", folder, "input", file))
            x = preprocess(rgb, m)
            feeds = {r32.input_names[0]: x}
            a = foreground(r32.infer(feeds), m, r32.output_names)
            b = foreground(r16.infer(feeds), m, r16.output_names)
            out.append((file, a, b))
    return out


def test_u2netp_fp16_agrees_with_fp32():
    for file, a, b in _maps("u2netp", STRICT + PORTRAITS):
        d = np.abs(a - b)
        assert np.isfinite(b).all(), file
        assert d.max() <= 0.30, (file, d.max())
        assert np.quantile(d, 0.999) <= 0.15, (file, np.quantile(d, 0.999))
        assert d.mean() <= 0.005, (file, d.mean())
        score = iou(a > 0.5, b > 0.5)
        assert score >= (0.99 if (("rembg", file) in STRICT or file == "GT05.jpg") else 0.97), (file, score)


def test_mediapipe_fp16_agrees_with_fp32():
    for file, a, b in _maps("mediapipe-selfie", STRICT[:1] + PORTRAITS):
        d = np.abs(a - b)
        assert d.max() <= 2e-3 and d.mean() <= 1e-4, (file, d.max(), d.mean())
        assert d.max() > 0.0, "no difference at all: the FP16 rounding was optimised away"
        assert iou(a > 0.5, b > 0.5) >= 0.999, file


@pytest.mark.parametrize("name", ["sinet", "pp-humanseg-v1-lite"])
def test_portrait_models_fp16_agree_with_fp32(name):
    for file, a, b in _maps(name, STRICT[:1] + PORTRAITS):
        d = np.abs(a - b)
        assert d.max() <= 0.03 and d.mean() <= 2e-3, (file, d.max(), d.mean())
        assert iou(a > 0.5, b > 0.5) >= 0.985, file


def test_converted_graph_structure():
    path = conftest.shared_path("models", "u2netp_320.onnx")
    m = convert(path)
    onnx.checker.check_model(m)
    TP = onnx.TensorProto
    floats = [t for t in m.graph.initializer if t.data_type in (TP.FLOAT, TP.FLOAT16)]
    assert floats and all(t.data_type == TP.FLOAT16 for t in floats if len(t.dims) == 4)  # conv weights
    assert [i.type.tensor_type.elem_type for i in m.graph.input] == [TP.FLOAT]
    assert {o.type.tensor_type.elem_type for o in m.graph.output} == {TP.FLOAT}
    assert [o.name for o in m.graph.output][:2] == ["1959", "1960"]
    produced_by = {o: n for n in m.graph.node for o in n.output}
    # Resize stays float32: its data input arrives through a Cast to float.
    for node in (n for n in m.graph.node if n.op_type == "Resize"):
        src = produced_by.get(node.input[0])
        assert src is not None and src.op_type == "Cast" and src.attribute[0].i == TP.FLOAT
    size32 = path.stat().st_size
    assert len(m.SerializeToString()) < 0.6 * size32  # the weights halved


def test_keep_io_types_false_gives_fp16_io(tmp_path):
    m = convert(tiny_segmenter(), keep_io_types=False)
    TP = onnx.TensorProto
    assert m.graph.input[0].type.tensor_type.elem_type == TP.FLOAT16
    assert m.graph.output[0].type.tensor_type.elem_type == TP.FLOAT16
    with OrtRuntime(m.SerializeToString(), optimization="none") as r:
        y = r.infer({"image": np.zeros((1, 3, 8, 8), np.float16)})["mask"]
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.astype(np.float32), 1 / (1 + np.exp(-0.25)), atol=1e-3)


def test_convert_rejects_what_it_cannot_handle():
    with pytest.raises(ModelError, match="cannot parse"):
        convert(b"not an onnx model")
    from onnx import TensorProto, helper

    then = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y1"])],
        "then",
        [],
        [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [1])],
    )
    node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=then)
    g = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info("c", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ModelError, match="If/Loop/Scan"):
        convert(model)
