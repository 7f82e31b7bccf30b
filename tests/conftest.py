"""Shared fixtures: the real data in ../shared/data and the backends available in this build."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# The package under test, for subprocesses: the source tree in development, the installed one in CI
# (there the source tree has no built _core, so PYTHONPATH must not point at it).
PACKAGE_DIR = Path(__import__("alphacut").__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent / "pipeline"))  # tiny_models: small ONNX graphs for tests
sys.path.insert(0, str(Path(__file__).parent / "server"))  # server_harness: the real server in a subprocess
SHARED_DATA = Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))


# The exact-GT composites in ../shared/data/images/composites; the first two are the quick set.
COMPOSITES = [
    "lemur__on_leaves",
    "GT05__on_beach",
    "GT05__on_leaves",
    "aim_o_0b7228ec__on_beach",
    "gfm_animal_3__on_GT26r",
    "lemur__on_GT26r",
    "p3m_p_09ba26b4__on_leaves",
    "p3m_p_514ca06a__on_GT26r",
    "p3m_p_514ca06a__on_beach",
    "p3m_p_bd6af989__on_GT26r",
]


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not present: {p} (the ../shared/data folder beside the repo)")
    return p


def declared_jpeg(width: int, height: int) -> bytes:
    """A few hundred bytes of JPEG whose header declares ``width`` × ``height`` pixels (an 8 × 8
    image with its SOF0 size rewritten): what a decompression bomb's header looks like."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    data[sof + 7 : sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_gray(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def _op_backends() -> list:
    from alphacut.ops import available_backends

    params = []
    for b in ("cpu", "emu", "cuda"):
        if b in available_backends():
            params.append(pytest.param(b, marks=[pytest.mark.gpu] if b == "cuda" else []))
    return params


@pytest.fixture(params=_op_backends())
def backend(request) -> str:
    """Each op test runs once per backend this build has (cpu always; emu, cuda when present)."""
    return request.param


# Test modules whose native entry points are not named after the module (test_<op>.py).
_OPS_OF_MODULE = {
    "morphology": ("dilate", "erode"),
    "composite": ("composite", "premultiply", "unpremultiply"),
    "preprocess_op": ("preprocess",),
    # a device backend composes the two (the CPU has its own fused op)
    "estimate_foreground_rgba": ("estimate_foreground", "pack_rgba"),
}


@pytest.fixture(autouse=True)
def _skip_ops_without_kernel(request):
    """An op that has no kernel for the backend under test in this build (e.g. a CPU-only op
    added later) is skipped with the reason instead of failing on BackendUnavailableError."""
    if "backend" not in request.fixturenames:
        return
    backend = request.getfixturevalue("backend")
    if backend == "cpu":
        return
    from alphacut import _core

    module = request.module.__name__.rsplit(".", 1)[-1]
    name = module[len("test_") :] if module.startswith("test_") else module
    ops = [op for op in _OPS_OF_MODULE.get(name, (name,)) if hasattr(_core, f"{op}_cpu")]
    missing = [op for op in ops if not hasattr(_core, f"{op}_{backend}")]
    if missing:
        pytest.skip(f"{', '.join(missing)} has no {backend} kernel in this build")


@pytest.fixture(autouse=True)
def _person_model_offline(monkeypatch):
    """General-mode sessions run a person segmenter beside u2netp and fetch it when missing: in
    tests it is the shared MediaPipe file (or routing is off without the shared data), never a
    download. Tests of the fetch and the fallback set ALPHACUT_PERSON_MODEL themselves."""
    p = SHARED_DATA / "models" / "mediapipe_selfie_segmentation_256x256.onnx"
    monkeypatch.setenv("ALPHACUT_PERSON_MODEL", str(p) if p.is_file() else "none")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def fresh_sessions():
    """Forget the cached sessions and runtimes after the test."""
    yield
    from alphacut.session import clear_sessions

    clear_sessions()


@pytest.fixture
def tiny(tmp_path, fresh_sessions):
    """A Session on a tiny generated segmenter (tests/pipeline/tiny_models.py)."""
    import tiny_models as tm

    from alphacut import Session
    from alphacut.models.manifest import InputSpec, ModelManifest, OutputSpec

    path = tm.segmenter(tmp_path / "seg.onnx", size=(64, 64))
    man = ModelManifest(
        name="tiny_seg",
        kind="segmenter",
        file="seg.onnx",
        input=InputSpec(name="input", size=(64, 64)),
        output=OutputSpec(channel=1, activation="softmax"),
    )
    return Session(man, model_path=path)


@pytest.fixture
def u2netp_home(tmp_path, monkeypatch, fresh_sessions):
    """A rembg-style model folder holding (a link to) the shared u2netp, as a user would have."""
    src = shared_path("models", "u2netp_320.onnx")
    d = tmp_path / "rembg_home" / "models" / "u2netp"
    d.mkdir(parents=True)
    (d / "u2netp.onnx").symlink_to(src)
    monkeypatch.setenv("REMBG_HOME", str(tmp_path / "rembg_home"))
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "alphacut_home"))
    return d


# ---- skip accounting: tools/check_evidence.py fails CI on any skip but a GPU/TensorRT one ----

_SKIPS: list = []
_COLLECTED = {"n": 0}


def _skip_reason(report) -> str:
    lr = report.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2])
    return str(lr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and not hasattr(rep, "wasxfail"):
        _SKIPS.append(
            {
                "nodeid": item.nodeid,
                "reason": _skip_reason(rep),
                "markers": sorted({m.name for m in item.iter_markers()}),
            }
        )


def pytest_collectreport(report):
    if report.skipped:  # a whole module skipped at import (importorskip, allow_module_level)
        _SKIPS.append({"nodeid": report.nodeid, "reason": _skip_reason(report), "markers": []})


def pytest_collection_modifyitems(session, config, items):
    _COLLECTED["n"] = len(items)


def pytest_sessionfinish(session, exitstatus):
    """With ``ALPHACUT_SKIP_REPORT=<file>``: every skip, with its test's markers, as JSON."""
    import json

    path = os.environ.get("ALPHACUT_SKIP_REPORT")
    if path:
        Path(path).write_text(
            json.dumps({"collected": _COLLECTED["n"], "exitstatus": int(exitstatus), "skips": _SKIPS}, indent=1) + "\n"
        )
