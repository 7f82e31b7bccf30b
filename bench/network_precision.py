"""The segmenter at other precisions on the CPU, against ONNX Runtime FP32: is any of them fast
enough to pay, and good enough to keep? The gate is issue #16's: mask IoU (probability > 0.5)
>= 0.99 against FP32 on every shared image, else the variant is not shipped.

Variants (each only when its package is installed):

- ``ort-int8``: ONNX Runtime static quantisation, QDQ, per-channel INT8 weights, UINT8
  activations, calibrated (MinMax) on every other shared image; the model converted to opset 17
  first (per-channel QDQ needs opset 13). ``--more-int8`` adds percentile calibration and MinMax
  with the last 20 convolutions left in FP32.
- ``ov-f32`` / ``ov-bf16``: OpenVINO on the CPU with that inference precision hint (BF16 runs on
  AMX or AVX-512 BF16 hardware; elsewhere OpenVINO falls back to FP32). ``--more-bf16`` adds
  ``ov-bf16-precise``: BF16 with every layer of the IR marked ``precise`` (OpenVINO's
  ``disable_fp16_compression`` run-time attribute, which the CPU plugin honours for BF16 too;
  set through the IR, as the Python API cannot make the attribute): how close BF16 gets when as
  much as OpenVINO allows stays in FP32.

Times: median of ``--repeat`` alternating single-image runs at the network size, wall clock and
process CPU time, ``--threads`` intra-op threads for every runtime. Prints a markdown table.

Run: ``PYTHONPATH=python python bench/network_precision.py [--model u2netp] [--repeat 15]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))
SHARED = REPO.parent / "shared" / "data"
FILES = {"u2netp": "u2netp_320.onnx", "sinet": "sinet_320.onnx"}


def shared_inputs(manifest) -> List[np.ndarray]:
    from PIL import Image

    from alphacut.pipeline.network import preprocess

    paths = sorted((SHARED / "images").glob("*/input/*.jpg"))
    return [preprocess(np.asarray(Image.open(p).convert("RGB")), manifest.input) for p in paths]


def ort_runner(path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.enable_mem_pattern = False
    s = ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return lambda x: s.run(None, {name: x})[0]


def quantise_int8(
    src: Path, xs: List[np.ndarray], work: Path, name: str = "int8", method: str = "MinMax", exclude_last: int = 0
) -> Path:
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self, name: str):
            self.it = iter(xs[::2])
            self.name = name

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {self.name: x}

    model = onnx.load(str(src))
    input_name = model.graph.input[0].name
    if not (work / "pre.onnx").is_file():
        onnx.save(version_converter.convert_version(model, 17), str(work / "op17.onnx"))
        quant_pre_process(str(work / "op17.onnx"), str(work / "pre.onnx"))
    convs = [n.name for n in onnx.load(str(work / "pre.onnx")).graph.node if n.op_type == "Conv"]
    out = work / f"{name}.onnx"
    quantize_static(
        str(work / "pre.onnx"),
        str(out),
        Reader(input_name),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        calibrate_method=getattr(CalibrationMethod, method),
        nodes_to_exclude=convs[len(convs) - exclude_last :] if exclude_last else [],
    )
    return out


def ov_runner(path, precision: str, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(str(path)),
        "CPU",
        {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"},
    )
    req = compiled.create_infer_request()
    out = compiled.outputs[0]
    return lambda x: req.infer({0: x})[out]


def ov_precise_runner(path, threads: int, work: Path) -> Callable[[np.ndarray], np.ndarray]:
    """OpenVINO BF16 with every layer marked ``precise`` in the IR; prints how many of each layer
    type run in BF16 after all."""
    import collections
    import re

    import openvino as ov

    core = ov.Core()
    xml = work / "model.xml"
    ov.save_model(core.read_model(str(path)), str(xml), compress_to_fp16=False)
    text = re.sub(
        r"(<layer [^>]*>)", r'\1\n<rt_info><attribute name="precise" version="0" /></rt_info>', xml.read_text()
    )
    xml.write_text(text)
    compiled = core.compile_model(
        core.read_model(str(xml)),
        "CPU",
        {"INFERENCE_PRECISION_HINT": "bf16", "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"},
    )
    kinds = collections.Counter(
        op.get_rt_info()["layerType"].astype(str)
        for op in compiled.get_runtime_model().get_ops()
        if op.get_rt_info()["runtimePrecision"].astype(str) == "bf16"
    )
    print(f"ov-bf16-precise: layers still in BF16: {dict(kinds) or 'none'}")
    req = compiled.create_infer_request()
    out = compiled.outputs[0]
    return lambda x: req.infer({0: x})[out]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="u2netp", choices=sorted(FILES))
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--more-int8",
        action="store_true",
        help="also INT8 with percentile calibration, and with the last 20 convolutions left in FP32",
    )
    ap.add_argument(
        "--more-bf16", action="store_true", help="also OpenVINO BF16 with every layer marked precise in the IR"
    )
    args = ap.parse_args(argv)

    from alphacut.models import get_manifest
    from alphacut.pipeline.network import read_probability

    src = SHARED / "models" / FILES[args.model]
    if not src.is_file():
        print(f"{src} is not present (../shared/data)", file=sys.stderr)
        return 2
    manifest = get_manifest(args.model)
    xs = shared_inputs(manifest)

    def prob(raw: np.ndarray) -> np.ndarray:
        return read_probability({manifest.output.name: raw}, manifest.output)

    runners: Dict[str, Callable[[np.ndarray], np.ndarray]] = {"ort-fp32": ort_runner(src, args.threads)}
    notes: List[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            runners["ort-int8"] = ort_runner(quantise_int8(src, xs, Path(tmp)), args.threads)
            if args.more_int8:
                for label, method, last in (("percentile", "Percentile", 0), ("last20-fp32", "MinMax", 20)):
                    path = quantise_int8(src, xs, Path(tmp), label, method, last)
                    runners[f"ort-int8-{label}"] = ort_runner(path, args.threads)
        except ImportError as exc:
            notes.append(f"ort-int8 not measured: {exc}")
        try:
            for p in ("f32", "bf16"):
                runners[f"ov-{p}"] = ov_runner(src, p, args.threads)
            if args.more_bf16:
                runners["ov-bf16-precise"] = ov_precise_runner(src, args.threads, Path(tmp))
        except ImportError as exc:
            notes.append(f"OpenVINO not measured: {exc}")

        ref = [prob(runners["ort-fp32"](x)) for x in xs]
        rows = ["| variant | min IoU | worst mean abs diff | gate (IoU >= 0.99) | median ms | CPU ms | vs fp32 |"]
        rows.append("|---|---|---|---|---|---|---|")
        quality = {}
        for k, run in runners.items():
            ious, diffs = [], []
            for x, p0 in zip(xs, ref):
                p1 = prob(run(x))
                a, b = p0 > 0.5, p1 > 0.5
                ious.append((a & b).sum() / max(1, (a | b).sum()))
                diffs.append(float(np.abs(p0 - p1).mean()))
            quality[k] = (min(ious), max(diffs))
        x = xs[0]
        for run in runners.values():
            run(x)
            run(x)
        wall: Dict[str, List[float]] = {k: [] for k in runners}
        cpu: Dict[str, List[float]] = {k: [] for k in runners}
        for _ in range(args.repeat):
            for k, run in runners.items():
                w, c = time.perf_counter(), time.process_time()
                run(x)
                wall[k].append((time.perf_counter() - w) * 1e3)
                cpu[k].append((time.process_time() - c) * 1e3)
        base = statistics.median(cpu["ort-fp32"])
        for k in runners:
            iou, diff = quality[k]
            mw, mc = statistics.median(wall[k]), statistics.median(cpu[k])
            gate = "pass" if iou >= 0.99 else "FAIL"
            rows.append(f"| {k} | {iou:.4f} | {diff:.4f} | {gate} | {mw:.0f} | {mc:.0f} | {base / mc:.2f}x CPU |")
    import os

    print(f"{args.model} on {len(xs)} shared images; {args.threads} threads; load {os.getloadavg()}")
    print("\n".join(rows))
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
