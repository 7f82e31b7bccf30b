"""Network runtimes and model resolution, side by side with what users would write otherwise.

- ``infer``: :class:`OrtRuntime` (input checks + dict in/out) against a bare
  ``onnxruntime.InferenceSession.run`` with the same session options, on u2netp (320²) and the
  MediaPipe selfie model (256²), one intra-op thread. The ratio is the runtime's overhead.
- ``resolve``: :func:`resolve_model` on a cache hit (size + mtime stamp; the hash was checked
  once) against hashing the 4.6 MB file on every call, as rembg's pooch-based check does.

Run::

    PYTHONPATH=python python -m pytest bench/runtime/test_bench_runtime.py --benchmark-enable --benchmark-group-by=group
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))
MODELS = {
    "u2netp": ("u2netp_320.onnx", (1, 3, 320, 320)),
    "mediapipe-selfie": ("mediapipe_selfie_segmentation_256x256.onnx", (1, 3, 256, 256)),
}


def _model(name):
    p = SHARED / "models" / MODELS[name][0]
    if not p.exists():
        pytest.skip(f"real data not present: {p}")
    return p


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("impl", ["alphacut", "onnxruntime"])
def test_infer(benchmark, name, impl):
    import onnxruntime as ort

    from alphacut.runtime import OrtRuntime

    path = _model(name)
    x = np.random.default_rng(0).random(MODELS[name][1], dtype=np.float32)
    benchmark.group = f"infer {name}"
    if impl == "alphacut":
        r = OrtRuntime(path, threads=1).activate()
        feeds = {r.input_names[0]: x}
        benchmark.pedantic(r.infer, args=(feeds,), rounds=30, warmup_rounds=5)
    else:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        feeds = {s.get_inputs()[0].name: x}
        benchmark.pedantic(s.run, args=(None, feeds), rounds=30, warmup_rounds=5)


@pytest.mark.parametrize("impl", ["alphacut", "hash-every-call"])
def test_resolve(benchmark, impl, tmp_path, monkeypatch):
    from alphacut.models import get_manifest, resolve_model

    src = _model("u2netp")
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path))
    monkeypatch.setenv("REMBG_HOME", str(tmp_path / "rembg"))
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "u2net"))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "u2netp.onnx").write_bytes(src.read_bytes())
    m = get_manifest("u2netp")
    benchmark.group = "resolve u2netp (cache hit)"
    if impl == "alphacut":
        resolve_model(m)  # first call hashes and stamps
        benchmark.pedantic(resolve_model, args=(m,), rounds=50, warmup_rounds=2)
    else:

        def hash_every_call():
            p = tmp_path / "models" / "u2netp.onnx"
            h = hashlib.md5()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            assert h.hexdigest() == m.md5
            return p

        benchmark.pedantic(hash_every_call, rounds=50, warmup_rounds=2)
