"""FP16 conversion of an ONNX graph, to check TensorRT FP16 numerics on a CPU.

:func:`convert` turns every float32 tensor of the graph (weights, constants, activations) into
float16 and keeps the graph's inputs and outputs float32 with Cast nodes at the boundary, the
way ``onnxconverter_common.float16.convert_float_to_float16(keep_io_types=True)`` does. Ops that
must stay float32 (``Resize``'s scales, ``Range``, random generators, non-standard domains) run in
float32 between Casts. Run through ONNX Runtime on the CPU with graph optimisation off
(``OrtRuntime(..., optimization="none")``), kernels without an fp16 implementation
compute in float32 between fp16 tensors, so the result shows the rounding of fp16 weights and
activations (what dominates TensorRT's FP16 error) rather than fp16 accumulation. With the
optimiser on, ORT folds those Casts away and the rounding disappears.

Needs the ``onnx`` package.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Dict, Iterable, List, Tuple, Union

import numpy as np

from ..errors import BackendUnavailableError, ModelError

if TYPE_CHECKING:
    from onnx import ModelProto

FP16_MAX = 65504.0

#: Ops kept in float32 (inputs cast up, outputs cast down): type constraints or range issues.
DEFAULT_FP32_OPS = frozenset(
    {
        "Resize",
        "Upsample",
        "Range",
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
        "Multinomial",
        "EyeLike",
        "NonMaxSuppression",
        "RoiAlign",
        "TopK",
        "ReduceSumSquare",
        "ReduceLogSumExp",
        "CumSum",
    }
)
_CONTROL_FLOW = {"If", "Loop", "Scan"}

#: What a strongly typed TensorRT engine keeps in float32 on top of :data:`DEFAULT_FP32_OPS`:
#: normalisations and reductions whose sums of squares or exponentials leave FP16's range.
TRT_FP32_OPS = DEFAULT_FP32_OPS | frozenset(
    {
        "InstanceNormalization",
        "LayerNormalization",
        "GroupNormalization",
        "ReduceMean",
        "ReduceSum",
        "ReduceL2",
        "ReduceProd",
        "Pow",
        "Sqrt",
        "Exp",
        "Log",
        "Softmax",
        "LogSoftmax",
    }
)


def _onnx() -> Tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    """``onnx`` and its ``helper``, ``numpy_helper`` and ``shape_inference`` modules."""
    try:
        import onnx
        from onnx import helper, numpy_helper, shape_inference
    except ImportError as exc:
        raise BackendUnavailableError(f"FP16 conversion needs the onnx package ({exc}); pip install onnx") from None
    return onnx, helper, numpy_helper, shape_inference


def _to_fp16(arr: np.ndarray) -> np.ndarray:
    return np.clip(arr, -FP16_MAX, FP16_MAX).astype(np.float16)


def convert(
    model: Union[str, Path, bytes, object], *, keep_io_types: bool = True, fp32_ops: Iterable[str] = DEFAULT_FP32_OPS
) -> ModelProto:
    """Convert an ONNX model's float32 computation to float16.

    Parameters
    ----------
    model : path-like, bytes or onnx.ModelProto
    keep_io_types : bool, default True
        Keep float32 graph inputs and outputs (Cast nodes at the boundary), so callers feed and
        read the same arrays as for the float32 model.
    fp32_ops : iterable of str
        Op types kept in float32.

    Returns
    -------
    onnx.ModelProto
        Serialise with ``.SerializeToString()`` to feed :class:`OrtRuntime`.

    Raises
    ------
    ModelError
        The model cannot be parsed, or has control flow (If/Loop/Scan), which this converter
        does not handle.
    """
    onnx, helper, numpy_helper, shape_inference = _onnx()
    TP = onnx.TensorProto
    try:
        if isinstance(model, (bytes, bytearray)):
            m = onnx.load_from_string(bytes(model))
        elif isinstance(model, (str, Path)):
            m = onnx.load(str(model))
        else:
            m = onnx.ModelProto()
            m.CopyFrom(model)
    except Exception as exc:
        raise ModelError(f"cannot parse the ONNX model for FP16 conversion: {exc}") from None
    try:
        m = shape_inference.infer_shapes(m)
    except Exception as exc:
        raise ModelError(f"ONNX shape inference failed, cannot convert to FP16: {exc}") from None
    g = m.graph
    fp32_ops = set(fp32_ops)
    if any(n.op_type in _CONTROL_FLOW for n in g.node):
        raise ModelError("the FP16 converter does not handle If/Loop/Scan subgraphs")

    elem: Dict[str, int] = {}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        elem[vi.name] = vi.type.tensor_type.elem_type
    inits = {t.name: t for t in g.initializer}
    for t in g.initializer:
        elem[t.name] = t.data_type

    def node_wants16(node) -> bool:
        return node.domain in ("", "ai.onnx") and node.op_type not in fp32_ops

    # Which precision each float initializer is stored in: fp16 unless an fp32 op reads it.
    init_prec: Dict[str, int] = {}
    for node in g.node:
        for name in node.input:
            if name in inits and elem.get(name) == TP.FLOAT:
                want = TP.FLOAT16 if node_wants16(node) else TP.FLOAT
                init_prec[name] = TP.FLOAT if init_prec.get(name) == TP.FLOAT else want
    for name, stored in init_prec.items():
        if stored == TP.FLOAT16:
            t = inits[name]
            t.CopyFrom(numpy_helper.from_array(_to_fp16(numpy_helper.to_array(t)), name))

    graph_inputs = {vi.name for vi in g.input}
    # The precision each float tensor is produced in.
    prec: Dict[str, int] = {}
    for vi in g.input:
        if vi.type.tensor_type.elem_type == TP.FLOAT:
            if keep_io_types:
                prec[vi.name] = TP.FLOAT
            else:
                vi.type.tensor_type.elem_type = TP.FLOAT16
                prec[vi.name] = TP.FLOAT16
    for name, p in init_prec.items():
        prec[name] = p

    # Graph outputs are renamed inside the graph so that a final Cast can restore the name.
    out_names = {vi.name for vi in g.output if vi.type.tensor_type.elem_type == TP.FLOAT}
    internal = {n: f"{n}__fp16" for n in out_names if n not in graph_inputs and n not in inits}

    new_nodes: List = []
    casts: Dict[tuple, str] = {}

    def cast(name: str, to: int) -> str:
        key = (name, to)
        if key not in casts:
            out = f"{name}__to{'16' if to == TP.FLOAT16 else '32'}"
            new_nodes.append(helper.make_node("Cast", [name], [out], to=to, name=f"{out}_cast"))
            casts[key] = out
            prec[out] = to
        return casts[key]

    for node in g.node:
        want = TP.FLOAT16 if node_wants16(node) else TP.FLOAT
        for i, name in enumerate(node.input):
            if not name:
                continue
            name = internal.get(name, name)
            node.input[i] = name
            have = prec.get(name)
            if have is not None and have != want:
                node.input[i] = cast(name, want)
        if want == TP.FLOAT16:
            for attr in node.attribute:
                if node.op_type == "Cast" and attr.name == "to" and attr.i == TP.FLOAT:
                    attr.i = TP.FLOAT16
                elif attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TP.FLOAT:
                    attr.t.CopyFrom(numpy_helper.from_array(_to_fp16(numpy_helper.to_array(attr.t)), attr.t.name))
        for i, name in enumerate(node.output):
            is_float = elem.get(name) == TP.FLOAT or (
                node.op_type == "Constant" and want == TP.FLOAT16 and name not in elem
            )
            if name in internal:
                node.output[i] = internal[name]
                name = internal[name]
            if is_float:
                prec[name] = want
        new_nodes.append(node)

    for vi in g.output:
        if vi.name in internal:
            src = internal[vi.name]
            to = TP.FLOAT if keep_io_types else TP.FLOAT16
            if prec.get(src, TP.FLOAT) == to:
                new_nodes.append(helper.make_node("Identity", [src], [vi.name], name=f"{vi.name}_out"))
            else:
                new_nodes.append(helper.make_node("Cast", [src], [vi.name], to=to, name=f"{vi.name}_out"))
            if not keep_io_types:
                vi.type.tensor_type.elem_type = TP.FLOAT16

    del g.node[:]
    g.node.extend(new_nodes)
    del g.value_info[:]  # stale float32 types; ONNX Runtime infers them again
    return m


def convert_to_bytes(model, **kw) -> bytes:
    """:func:`convert` and serialise."""
    return convert(model, **kw).SerializeToString()


def convert_for_tensorrt(model) -> bytes:
    """The FP16 ONNX a strongly typed TensorRT engine is built from (TensorRT 11 has no FP16
    builder flag): float32 inputs and outputs, :data:`TRT_FP32_OPS` kept in float32. The same
    graph ``alphacut engines check`` compares with the FP32 model on ONNX Runtime."""
    return convert_to_bytes(model, keep_io_types=True, fp32_ops=TRT_FP32_OPS)
