"""Tiny ONNX graphs for plumbing tests, generated here with the onnx helper API (no real weights).

- :func:`tiny_segmenter`: (1, 3, H, W) -> Conv 1x1 (fixed weights) -> Sigmoid -> (1, 1, H, W).
- :func:`tiny_classifier`: (1, 3, H, W) -> GlobalAveragePool -> Flatten -> (1, 3): not a segmenter.
"""

from __future__ import annotations

import numpy as np


def tiny_segmenter(h: int = 8, w: int = 8, *, input_name: str = "image", output_name: str = "mask") -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    wts = numpy_helper.from_array(np.array([[[[1.0]], [[-2.0]], [[0.5]]]], dtype=np.float32), "w")
    bias = numpy_helper.from_array(np.array([0.25], dtype=np.float32), "b")
    nodes = [
        helper.make_node("Conv", [input_name, "w", "b"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], [output_name]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_segmenter",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [1, 1, h, w])],
        [wts, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def tiny_segmenter_reference(x: np.ndarray) -> np.ndarray:
    """What :func:`tiny_segmenter` computes, in NumPy."""
    logits = x[:, 0] * 1.0 - 2.0 * x[:, 1] + 0.5 * x[:, 2] + 0.25
    return (1.0 / (1.0 + np.exp(-logits)))[:, None]


def tiny_classifier(h: int = 8, w: int = 8) -> bytes:
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_classifier",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
