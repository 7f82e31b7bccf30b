"""A TFLite → ONNX converter for the MediaPipe selfie-segmentation graphs (pure Python + ``onnx``).

The MediaPipe selfie models ship only as ``.tflite`` files inside the ``mediapipe`` wheel
(Apache-2.0). :func:`convert` turns such a file into an ONNX graph that ONNX Runtime runs as the
manifests ``mediapipe-selfie`` / ``mediapipe-selfie-landscape`` describe: input ``input``
(1, 3, H, W) float32 RGB in [0, 1], NCHW; output ``mask`` (1, 1, H, W), the person probability.

It reads the TFLite flatbuffer itself (a few tables of TensorFlow's ``schema.fbs``; no
``tflite`` or ``flatbuffers`` package) and maps the graph op by op:

=============================================  ==================================================
TFLite                                         ONNX
=============================================  ==================================================
DEQUANTIZE of a constant (fp16 weights)        folded: the weight widened to float32
CONV_2D, DEPTHWISE_CONV_2D (SAME/VALID)        Conv (explicit pads, group = channels for depthwise)
fused activation RELU / RELU6 / RELU_N1_TO_1   Relu / Clip
AVERAGE_POOL_2D over the whole map             GlobalAveragePool (else AveragePool)
MEAN over H and W, keep_dims (landscape model)  GlobalAveragePool (else ReduceMean)
ADD, MUL                                       Add, Mul (NCHW broadcasting; 1-D constants reshaped)
HARD_SWISH, LOGISTIC, RELU, RELU6              HardSwish, Sigmoid, Relu, Clip
RESIZE_BILINEAR                                Resize linear (half_pixel / align_corners / asymmetric)
custom ``Convolution2DTransposeBias``          ConvTranspose (MediaPipe's op: weights O×kh×kw×I,
                                               options padding, stride_w, stride_h as 3 int32)
=============================================  ==================================================

Every 4-D activation is NHWC in TFLite and NCHW here; weights are transposed once. The graph
is opset 17, IR version 8, and serialised deterministically (same input, same bytes), so the
converted file's sha256 can be pinned in a manifest. Anything outside this table raises
:class:`~alphacut.errors.ModelError` naming the op.

Needs the ``onnx`` package (``pip install alphacut[convert]``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import ModelError

__all__ = ["CONVERTER_VERSION", "TFLiteGraph", "convert", "read_tflite"]

#: Bump when the output of :func:`convert` changes (the pinned hashes of converted files with it).
CONVERTER_VERSION = "1"

# TensorFlow Lite schema constants (tensorflow/lite/schema/schema.fbs)
_TENSOR_DTYPES = {
    0: np.float32,
    1: np.float16,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    6: np.bool_,
    7: np.int16,
    9: np.int8,
    10: np.float64,
}
_OPS = {
    0: "ADD",
    1: "AVERAGE_POOL_2D",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE",
    14: "LOGISTIC",
    18: "MUL",
    19: "RELU",
    21: "RELU6",
    23: "RESIZE_BILINEAR",
    32: "CUSTOM",
    40: "MEAN",
    117: "HARD_SWISH",
}
_SAME, _VALID = 0, 1
_ACT_NONE, _ACT_RELU, _ACT_RELU_N1_TO_1, _ACT_RELU6 = 0, 1, 2, 3


# -- a minimal flatbuffer reader ----------------------------------------------------------------
class _Table:
    """One flatbuffer table: fields by their index in the schema."""

    __slots__ = ("buf", "pos", "vt", "vt_len")

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos
        self.vt = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vt_len = struct.unpack_from("<H", buf, self.vt)[0]

    def _off(self, i: int) -> int:
        o = 4 + 2 * i
        return struct.unpack_from("<H", self.buf, self.vt + o)[0] if o < self.vt_len else 0

    def scalar(self, i: int, fmt: str, default=0):
        o = self._off(i)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + o)[0] if o else default

    def _indirect(self, i: int) -> Optional[int]:
        o = self._off(i)
        if not o:
            return None
        p = self.pos + o
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, i: int) -> Optional[_Table]:
        p = self._indirect(i)
        return None if p is None else _Table(self.buf, p)

    def string(self, i: int) -> str:
        p = self._indirect(i)
        if p is None:
            return ""
        n = struct.unpack_from("<I", self.buf, p)[0]
        return self.buf[p + 4 : p + 4 + n].decode("utf-8", "replace")

    def vector(self, i: int, dtype) -> np.ndarray:
        p = self._indirect(i)
        if p is None:
            return np.zeros(0, dtype)
        n = struct.unpack_from("<I", self.buf, p)[0]
        return np.frombuffer(self.buf, dtype=np.dtype(dtype).newbyteorder("<"), count=n, offset=p + 4)

    def tables(self, i: int) -> List[_Table]:
        p = self._indirect(i)
        if p is None:
            return []
        n = struct.unpack_from("<I", self.buf, p)[0]
        out = []
        for k in range(n):
            q = p + 4 + 4 * k
            out.append(_Table(self.buf, q + struct.unpack_from("<I", self.buf, q)[0]))
        return out


@dataclass
class _Tensor:
    name: str
    shape: Tuple[int, ...]
    dtype: type
    data: Optional[np.ndarray]  # constant contents, or None for activations


@dataclass
class _Op:
    kind: str  # an _OPS name, or "CUSTOM:<code>"
    inputs: List[int]
    outputs: List[int]
    options: Optional[_Table]
    custom_options: bytes = b""


@dataclass
class TFLiteGraph:
    """The first subgraph of a TFLite model, as plain data."""

    tensors: List[_Tensor]
    inputs: List[int]
    outputs: List[int]
    ops: List[_Op]
    description: str = ""
    op_counts: Dict[str, int] = field(default_factory=dict)


def read_tflite(data: bytes) -> TFLiteGraph:
    """Parse a ``.tflite`` flatbuffer (its first subgraph)."""
    data = bytes(data)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError("not a TFLite model (no TFL3 identifier)")
    model = _Table(data, struct.unpack_from("<I", data, 0)[0])
    buffers = model.tables(4)
    codes = []
    for oc in model.tables(1):
        code = max(oc.scalar(0, "b", 0), oc.scalar(3, "i", 0))  # deprecated_builtin_code, builtin_code
        codes.append(f"CUSTOM:{oc.string(1)}" if code == 32 else _OPS.get(code, f"BUILTIN_{code}"))
    subgraphs = model.tables(2)
    if not subgraphs:
        raise ModelError("the TFLite model has no subgraph")
    g = subgraphs[0]
    tensors = []
    for t in g.tables(0):
        shape = tuple(int(v) for v in t.vector(0, np.int32))
        ttype = t.scalar(1, "b", 0)
        if ttype not in _TENSOR_DTYPES:
            raise ModelError(f"tensor {t.string(3)!r} has an unsupported TFLite type {ttype}")
        dtype = _TENSOR_DTYPES[ttype]
        b = t.scalar(2, "I", 0)
        arr: Optional[np.ndarray] = None
        if 0 < b < len(buffers):
            raw = buffers[b].vector(0, np.uint8)
            if raw.size == 0 and buffers[b].scalar(1, "Q", 0):  # stored after the flatbuffer
                off, size = buffers[b].scalar(1, "Q", 0), buffers[b].scalar(2, "Q", 0)
                raw = np.frombuffer(data, np.uint8, count=size, offset=off)
            if raw.size:
                arr = np.frombuffer(raw.tobytes(), dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
                arr = arr.reshape(shape) if shape else arr
        tensors.append(_Tensor(t.string(3), shape, dtype, arr))
    ops: List[_Op] = []
    counts: Dict[str, int] = {}
    for o in g.tables(3):
        kind = codes[o.scalar(0, "I", 0)]
        counts[kind] = counts.get(kind, 0) + 1
        ops.append(
            _Op(
                kind,
                [int(v) for v in o.vector(1, np.int32)],
                [int(v) for v in o.vector(2, np.int32)],
                o.table(4),
                o.vector(5, np.uint8).tobytes(),
            )
        )
    return TFLiteGraph(
        tensors,
        [int(v) for v in g.vector(1, np.int32)],
        [int(v) for v in g.vector(2, np.int32)],
        ops,
        model.string(3),
        counts,
    )


# -- the conversion -----------------------------------------------------------------------------
def _same_pads(size: int, k: int, s: int, d: int = 1) -> Tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


class _Builder:
    def __init__(self, graph: TFLiteGraph) -> None:
        from onnx import helper, numpy_helper

        self.h, self.nh = helper, numpy_helper
        self.g = graph
        self.nodes: list = []
        self.inits: list = []
        self.names: Dict[int, str] = {}  # tensor index -> ONNX value name
        self.const: Dict[int, np.ndarray] = {}  # constant tensors (after folding DEQUANTIZE), NHWC as stored
        self.n = 0
        for i, t in enumerate(graph.tensors):
            if t.data is not None:
                self.const[i] = t.data

    def fresh(self, prefix: str = "t") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def init(self, arr: np.ndarray, prefix: str = "c") -> str:
        name = self.fresh(prefix)
        self.inits.append(self.nh.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op: str, inputs: List[str], out: Optional[str] = None, **attrs) -> str:
        out = out or self.fresh()
        self.nodes.append(self.h.make_node(op, inputs, [out], **attrs))
        return out

    def value(self, i: int) -> str:
        if i in self.names:
            return self.names[i]
        if i in self.const:
            c = self.const[i].astype(np.float32) if self.const[i].dtype == np.float16 else self.const[i]
            if c.ndim == 4:
                c = c.transpose(0, 3, 1, 2)
            self.names[i] = self.init(c)
            return self.names[i]
        raise ModelError(f"tensor {self.g.tensors[i].name!r} is used before it is produced")

    def shape(self, i: int) -> Tuple[int, ...]:
        return self.g.tensors[i].shape

    def activation(self, x: str, act: int, out: Optional[str]) -> str:
        if act == _ACT_NONE:
            return self.node("Identity", [x], out) if out else x
        if act == _ACT_RELU:
            return self.node("Relu", [x], out)
        if act == _ACT_RELU6:
            return self.node("Clip", [x, self.init(np.float32(0)), self.init(np.float32(6))], out)
        if act == _ACT_RELU_N1_TO_1:
            return self.node("Clip", [x, self.init(np.float32(-1)), self.init(np.float32(1))], out)
        raise ModelError(f"unsupported fused activation {act}")

    def conv(self, op: _Op, depthwise: bool) -> None:
        o = op.options
        if o is None:
            raise ModelError("a convolution without options")
        if depthwise:  # padding, stride_w, stride_h, depth_multiplier, activation, dilation_w, dilation_h
            pad, sw, sh, act, dw, dh = (
                o.scalar(0, "b"),
                o.scalar(1, "i"),
                o.scalar(2, "i"),
                o.scalar(4, "b"),
                o.scalar(5, "i", 1),
                o.scalar(6, "i", 1),
            )
        else:  # padding, stride_w, stride_h, activation, dilation_w, dilation_h
            pad, sw, sh, act, dw, dh = (
                o.scalar(0, "b"),
                o.scalar(1, "i"),
                o.scalar(2, "i"),
                o.scalar(3, "b"),
                o.scalar(4, "i", 1),
                o.scalar(5, "i", 1),
            )
        x, w_i = op.inputs[0], op.inputs[1]
        if w_i not in self.const:
            raise ModelError("convolution weights must be constant")
        w = self.const[w_i].astype(np.float32)
        _, H, W, C = self.shape(x)
        if depthwise:  # [1, kh, kw, C*m] -> [C*m, 1, kh, kw], group C
            kh, kw = w.shape[1:3]
            wt = w.transpose(3, 0, 1, 2)
            group = C
        else:  # [O, kh, kw, I] -> [O, I, kh, kw]
            kh, kw = w.shape[1:3]
            wt = w.transpose(0, 3, 1, 2)
            group = 1
        if pad == _SAME:
            (pt, pb), (pl, pr) = _same_pads(H, kh, sh, dh), _same_pads(W, kw, sw, dw)
        elif pad == _VALID:
            pt = pb = pl = pr = 0
        else:
            raise ModelError(f"unsupported padding {pad}")
        ins = [self.value(x), self.init(wt, "W")]
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            ins.append(self.init(self.const[op.inputs[2]].astype(np.float32).reshape(-1), "B"))
        y = self.node(
            "Conv",
            ins,
            None if act else self._out(op),
            dilations=[dh, dw],
            group=group,
            kernel_shape=[kh, kw],
            pads=[pt, pl, pb, pr],
            strides=[sh, sw],
        )
        if act:
            self.activation(y, act, self._out(op))

    def _out(self, op: _Op) -> str:
        i = op.outputs[0]
        name = self.names.get(i) or self.fresh()
        self.names[i] = name
        return name

    def binary(self, op: _Op, onnx_op: str) -> None:
        a, b = op.inputs[:2]
        ins = []
        for i, other in ((a, b), (b, a)):
            if i in self.const and self.const[i].ndim == 1 and len(self.shape(other)) == 4:
                ins.append(self.init(self.const[i].astype(np.float32).reshape(-1, 1, 1)))  # (C,) -> (C, 1, 1)
            else:
                ins.append(self.value(i))
        act = op.options.scalar(0, "b") if op.options is not None else 0
        y = self.node(onnx_op, ins, None if act else self._out(op))
        if act:
            self.activation(y, act, self._out(op))

    def pool(self, op: _Op) -> None:
        o = op.options  # padding, stride_w, stride_h, filter_width, filter_height, activation
        if o is None:
            raise ModelError("AVERAGE_POOL_2D without options")
        pad, sw, sh, fw, fh, act = (
            o.scalar(0, "b"),
            o.scalar(1, "i"),
            o.scalar(2, "i"),
            o.scalar(3, "i"),
            o.scalar(4, "i"),
            o.scalar(5, "b"),
        )
        x = op.inputs[0]
        _, H, W, _ = self.shape(x)
        if (fh, fw) == (H, W) and pad == _VALID:
            y = self.node("GlobalAveragePool", [self.value(x)], None if act else self._out(op))
        else:
            (pt, pb), (pl, pr) = (_same_pads(H, fh, sh), _same_pads(W, fw, sw)) if pad == _SAME else ((0, 0), (0, 0))
            y = self.node(
                "AveragePool",
                [self.value(x)],
                None if act else self._out(op),
                kernel_shape=[fh, fw],
                pads=[pt, pl, pb, pr],
                strides=[sh, sw],
                count_include_pad=0,
            )
        if act:
            self.activation(y, act, self._out(op))

    def mean(self, op: _Op) -> None:
        x, axes_i = op.inputs[:2]
        if axes_i not in self.const:
            raise ModelError("MEAN over computed axes is not supported")
        keep = bool(op.options.scalar(0, "B")) if op.options is not None else False  # ReducerOptions.keep_dims
        rank = len(self.shape(x))
        axes = sorted(int(a) % rank for a in np.atleast_1d(self.const[axes_i]))
        if rank == 4:
            if not keep:
                raise ModelError("MEAN without keep_dims on a 4-D tensor is not supported")
            if axes == [1, 2]:
                self.node("GlobalAveragePool", [self.value(x)], self._out(op))
                return
            axes = sorted({0: 0, 1: 2, 2: 3, 3: 1}[a] for a in axes)  # NHWC -> NCHW
        self.node("ReduceMean", [self.value(x)], self._out(op), axes=axes, keepdims=int(keep))

    def resize(self, op: _Op) -> None:
        x, size = op.inputs[:2]
        if size not in self.const:
            raise ModelError("RESIZE_BILINEAR with a computed size is not supported")
        o = op.options  # new_height, new_width (deprecated), align_corners, half_pixel_centers
        align = bool(o.scalar(2, "B")) if o is not None else False
        half = bool(o.scalar(3, "B")) if o is not None else False
        mode = "align_corners" if align else ("half_pixel" if half else "asymmetric")
        n, _, _, c = self.shape(x)
        h, w = (int(v) for v in self.const[size])
        sizes = self.init(np.array([n, c, h, w], np.int64), "sizes")
        self.node(
            "Resize", [self.value(x), "", "", sizes], self._out(op), coordinate_transformation_mode=mode, mode="linear"
        )

    def transpose_conv_bias(self, op: _Op) -> None:
        """MediaPipe's Convolution2DTransposeBias: input, weights [O, kh, kw, I], bias [O];
        options = TfLiteTransposeConvParams {padding (1 SAME, 2 VALID), stride_w, stride_h}."""
        if len(op.custom_options) < 12:
            raise ModelError("Convolution2DTransposeBias without its 12 bytes of options")
        padding, sw, sh = struct.unpack_from("<iii", op.custom_options, 0)
        x, w_i, b_i = op.inputs[:3]
        w = self.const[w_i].astype(np.float32)
        _, kh, kw, _ = w.shape
        _, H, W, _ = self.shape(x)
        _, OH, OW, _ = self.shape(op.outputs[0])
        if padding == 1:  # SAME: out = in * stride, the excess cropped evenly (more at the end)
            th, tw = (H - 1) * sh + kh - OH, (W - 1) * sw + kw - OW
            pads = [th // 2, tw // 2, th - th // 2, tw - tw // 2]
        elif padding == 2:
            pads = [0, 0, 0, 0]
        else:
            raise ModelError(f"Convolution2DTransposeBias with padding {padding}")
        self.node(
            "ConvTranspose",
            [
                self.value(x),
                self.init(w.transpose(3, 0, 1, 2), "W"),
                self.init(self.const[b_i].astype(np.float32).reshape(-1), "B"),
            ],
            self._out(op),
            kernel_shape=[kh, kw],
            pads=pads,
            strides=[sh, sw],
        )


def convert(data: bytes, *, input_name: str = "input", output_name: str = "mask", doc: str = "") -> bytes:
    """Convert a MediaPipe selfie-segmentation ``.tflite`` (bytes) to a serialised ONNX model.

    The graph input becomes ``input_name`` (1, 3, H, W) float32 NCHW and the output
    ``output_name`` (1, C, H, W). Raises :class:`ModelError` for an op outside the module's table,
    and an :class:`ImportError` naming the extra when ``onnx`` is missing.
    """
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("converting a TFLite model needs the onnx package: pip install 'alphacut[convert]'") from exc
    g = read_tflite(data)
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise ModelError(f"expected one input and one output, got {len(g.inputs)} and {len(g.outputs)}")
    b = _Builder(g)
    b.names[g.inputs[0]] = input_name
    for op in g.ops:
        k = op.kind
        if k == "DEQUANTIZE":
            src = op.inputs[0]
            if src not in b.const:
                raise ModelError("DEQUANTIZE of a computed tensor is not supported")
            b.const[op.outputs[0]] = b.const[src].astype(np.float32)
        elif k in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            b.conv(op, depthwise=k == "DEPTHWISE_CONV_2D")
        elif k in ("ADD", "MUL"):
            b.binary(op, "Add" if k == "ADD" else "Mul")
        elif k == "AVERAGE_POOL_2D":
            b.pool(op)
        elif k == "MEAN":
            b.mean(op)
        elif k in ("HARD_SWISH", "LOGISTIC", "RELU"):
            b.node(
                {"HARD_SWISH": "HardSwish", "LOGISTIC": "Sigmoid", "RELU": "Relu"}[k],
                [b.value(op.inputs[0])],
                b._out(op),
            )
        elif k == "RELU6":
            b.activation(b.value(op.inputs[0]), _ACT_RELU6, b._out(op))
        elif k == "RESIZE_BILINEAR":
            b.resize(op)
        elif k == "CUSTOM:Convolution2DTransposeBias":
            b.transpose_conv_bias(op)
        else:
            raise ModelError(f"the TFLite op {k} is not supported by alphacut's converter")
    out_i = g.outputs[0]
    b.node("Identity", [b.value(out_i)], output_name)
    n, h, w, c = g.tensors[g.inputs[0]].shape
    on, oh, ow, oc = g.tensors[out_i].shape
    graph = helper.make_graph(
        b.nodes,
        "mediapipe_selfie_segmentation",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [n, c, h, w])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [on, oc, oh, ow])],
        initializer=b.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="alphacut.models.tflite",
        producer_version=CONVERTER_VERSION,
        doc_string=doc or g.description,
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString(deterministic=True)
