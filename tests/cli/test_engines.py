"""``alphacut engines`` and ``alphacut info`` on a machine without a GPU or TensorRT: the cache
commands, build refused with the reason, the FP16 check on the real MediaPipe model, and info's
report of what is unusable and why."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from conftest import shared_path

from alphacut.cli import main
from alphacut.runtime.trt.cache import EngineCache


@pytest.fixture(autouse=True)
def _home(monkeypatch, tmp_path):
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _put(home, key, model, precision="fp16"):
    EngineCache(home / "engines").put(
        key, b"PLAN" * 64, {"model": model, "precision": precision, "tensorrt": "10.16.1.11", "gpu": "NVIDIA L4"}
    )


def test_list_and_clear(_home, capsys):
    assert main(["engines", "list"]) == 0
    assert "no engines" in capsys.readouterr().out
    _put(_home, "k1", "u2netp")
    _put(_home, "k2", "modnet", "fp32")
    assert main(["engines", "list"]) == 0
    out = capsys.readouterr().out
    assert "2 engine(s)" in out and "u2netp" in out and "modnet" in out and "fp32" in out
    assert main(["engines", "list", "--json"]) == 0
    ents = json.loads(capsys.readouterr().out)
    assert [(e["key"], e["model"]) for e in ents] == [("k1", "u2netp"), ("k2", "modnet")]
    assert main(["engines", "clear"]) == 0
    assert "deleted 2 engine(s)" in capsys.readouterr().out
    assert EngineCache(_home / "engines").entries() == []


def test_build_without_tensorrt_says_why(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # not importable
    assert main(["engines", "build", "--model", "u2netp"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot build TensorRT engines here" in err[0] and "tensorrt" in err[0]


def test_check_unknown_model_is_one_line(capsys, tmp_path):
    assert main(["engines", "check", "--model", str(tmp_path / "nope.onnx")]) == 1
    assert "neither a known model name nor a file" in capsys.readouterr().err


def _check_args(tmp_path, *extra):
    model = shared_path("models", "mediapipe_selfie_segmentation_256x256.onnx")
    img = shared_path("images", "alphamatting_gt05", "input", "GT05.jpg")
    return ["engines", "check", "--model", str(model), "--images", str(img), "--json", str(tmp_path / "r.json"), *extra]


def test_check_fp16_against_fp32(tmp_path, capsys):
    """The figures are recomputed here from ONNX Runtime directly (the FP32 model and the FP16
    graph alphacut builds strongly typed engines from), with the manifest's documented
    preprocessing written in NumPy/Pillow."""
    import onnxruntime as ort
    from PIL import Image

    from alphacut.runtime.fp16 import convert_for_tensorrt

    assert main(_check_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "GT05.jpg" in out and "mediapipe-selfie" in out
    row = json.loads((tmp_path / "r.json").read_text())["images"][0]

    model = shared_path("models", "mediapipe_selfie_segmentation_256x256.onnx")
    rgb = Image.open(shared_path("images", "alphamatting_gt05", "input", "GT05.jpg")).convert("RGB")
    x = (np.asarray(rgb.resize((256, 256), Image.BILINEAR), np.float32) / 255.0).transpose(2, 0, 1)[None]
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    p32 = ort.InferenceSession(str(model)).run(None, {"input": x})[0][0, 0]
    p16 = ort.InferenceSession(convert_for_tensorrt(model), so).run(None, {"input": x})[0][0, 0]
    m32, m16 = p32 >= 0.5, p16 >= 0.5
    iou = (m32 & m16).sum() / max(1, (m32 | m16).sum())
    assert row["iou"] == pytest.approx(iou, abs=0.01)
    assert row["mean_diff"] == pytest.approx(np.abs(p32 - p16).mean(), abs=2e-3)
    assert 0 < row["mean_diff"] < 0.01 and row["iou"] >= 0.99  # FP16 rounding is there, and small


def test_check_fails_past_the_thresholds(tmp_path, capsys, monkeypatch):
    assert main(_check_args(tmp_path, "--min-iou", "1.01")) == 1
    assert "FAIL" in capsys.readouterr().out
    assert main(_check_args(tmp_path, "--max-mean-diff", "0")) == 1
    # A broken FP16 conversion (weights off by 30 %) is caught at the default thresholds.
    import onnx
    from onnx import numpy_helper

    import alphacut.runtime.fp16 as fp16

    real = fp16.convert_for_tensorrt

    def broken(path):
        m = onnx.load_from_string(real(path))
        for t in m.graph.initializer:
            a = numpy_helper.to_array(t)
            if a.dtype == np.float16 and a.size > 16:
                t.CopyFrom(numpy_helper.from_array((a * np.float16(1.3)).astype(np.float16), t.name))
        return m.SerializeToString()

    monkeypatch.setattr(fp16, "convert_for_tensorrt", broken)
    assert main(_check_args(tmp_path)) == 1


def test_info_reports_why_gpu_paths_are_unusable(_home, capsys):
    _put(_home, "k1", "u2netp")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "versions:" in out and "onnxruntime" in out and "engine cache" in out and "1 engine(s)" in out
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backends"]["cpu"]["usable"] is True
    assert info["runtimes"]["onnxruntime"]["usable"] is True
    for name in ("cuda",):
        st = info["backends"][name]
        assert st["usable"] or st["why_not"]
    trt = info["runtimes"]["tensorrt"]
    assert trt["usable"] or trt["why_not"]
    if not info["gpus"]:
        assert info["gpu_reason"]
    assert info["engine_cache"]["engines"][0]["model"] == "u2netp"
