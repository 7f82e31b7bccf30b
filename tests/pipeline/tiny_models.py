"""Tiny ONNX graphs for plumbing tests, built with ``onnx.helper`` (no weights to ship).

- :func:`segmenter`: (1, 3, S, S) image → (1, 2, S, S) logits whose channel 1 is
  ``gain · (R − B)``: a red subject on a blue backdrop is "foreground". Exercises the sigmoid /
  softmax / channel handling of the manifest; ``batch="N"`` gives it a dynamic batch.
- :func:`matting_4ch`: (1, 4, h, w) image+trimap → α = w_rgb·mean(RGB) + w_t·trimap, a 1×1 conv.
- :func:`matting_two_inputs`: image (1, 3, h, w) and trimap (1, 1, h, w) → the same α.
- :func:`matting_free`: (1, 3, h, w) → α = mean(RGB).

Every one is pointwise, so the test can compute the expected α per pixel in NumPy whatever the
tiling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

W_RGB = 0.5 / 3.0
W_TRI = 0.5


def _save(graph, path: Path) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _dims(size: Optional[Sequence[int]], batch=1):
    return [batch, "C", size[0], size[1]] if size else [batch, "C", "H", "W"]


def _tensor(name, channels, size, batch=1):
    from onnx import TensorProto, helper

    d = _dims(size, batch)
    d[1] = channels
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, d)


def _conv(name_in, name_out, weights, nodes, inits):
    from onnx import helper, numpy_helper

    w = np.asarray(weights, np.float32)
    w = w.reshape(1 if w.ndim == 1 else w.shape[0], -1, 1, 1)  # (out, in, 1, 1)
    inits.append(numpy_helper.from_array(w, f"{name_out}_w"))
    nodes.append(helper.make_node("Conv", [name_in, f"{name_out}_w"], [name_out]))


def segmenter(path: Path, size=(64, 64), gain: float = 20.0, nhwc: bool = False, batch=1) -> Path:
    """``batch``: the input's batch dimension, 1 or a name (e.g. "N") for a dynamic batch."""
    from onnx import helper

    nodes, inits = [], []
    # channel 0: background logit −gain(R−B), channel 1: foreground logit gain(R−B)
    _conv("input", "logits", [[-gain, 0.0, gain], [gain, 0.0, -gain]], nodes, inits)
    out = "logits"
    if nhwc:
        nodes.append(helper.make_node("Transpose", ["logits"], ["logits_nhwc"], perm=[0, 2, 3, 1]))
        out = "logits_nhwc"
    from onnx import TensorProto

    o = helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", "A", "B", "C"])
    g = helper.make_graph(nodes, "tiny_segmenter", [_tensor("input", 3, size, batch)], [o], initializer=inits)
    return _save(g, path)


def matting_4ch(path: Path, size=None) -> Path:
    from onnx import helper

    nodes, inits = [], []
    _conv("pixel_values", "alpha", [W_RGB, W_RGB, W_RGB, W_TRI], nodes, inits)
    g = helper.make_graph(
        nodes, "tiny_matting_4ch", [_tensor("pixel_values", 4, size)], [_tensor("alpha", 1, size)], initializer=inits
    )
    return _save(g, path)


def matting_two_inputs(path: Path, size=None) -> Path:
    from onnx import helper

    nodes, inits = [], []
    nodes.append(helper.make_node("Concat", ["image", "trimap"], ["cat"], axis=1))
    _conv("cat", "alpha", [W_RGB, W_RGB, W_RGB, W_TRI], nodes, inits)
    g = helper.make_graph(
        nodes,
        "tiny_matting_2in",
        [_tensor("image", 3, size), _tensor("trimap", 1, size)],
        [_tensor("alpha", 1, size)],
        initializer=inits,
    )
    return _save(g, path)


def matting_free(path: Path, size=None) -> Path:
    from onnx import helper

    nodes, inits = [], []
    _conv("input", "alpha", [1 / 3.0, 1 / 3.0, 1 / 3.0], nodes, inits)
    g = helper.make_graph(
        nodes, "tiny_matting_free", [_tensor("input", 3, size)], [_tensor("alpha", 1, size)], initializer=inits
    )
    return _save(g, path)


def red_disk(h: int = 150, w: int = 200, r: float = 45.0, soft: float = 3.0, seed: int = 0):
    """(rgb uint8, alpha float32): a red disk with a soft rim on a blue backdrop, plus noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.hypot(yy - h / 2, xx - w / 2) - r
    a = np.clip(0.5 - d / soft, 0, 1)
    fg = np.array([220, 60, 40], np.float32)
    bg = np.array([40, 70, 200], np.float32)
    rgb = a[..., None] * fg + (1 - a[..., None]) * bg
    rgb += np.random.default_rng(seed).normal(0, 3, rgb.shape)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), a.astype(np.float32)
