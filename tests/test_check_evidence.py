"""tools/check_evidence.py, which makes CI fail instead of skipping when its evidence is missing:
each failure provoked (no emulation, a kernel missing from the build, no shared data, no cmake,
a skip that is not a GPU/TensorRT one)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from conftest import PACKAGE_DIR  # noqa: E402

import check_evidence as ce  # noqa: E402
from alphacut import _core  # noqa: E402


def _core_copy(drop=(), **attrs):
    m = types.ModuleType("alphacut._core")
    for k in dir(_core):
        if not k.startswith("__") and k not in drop:
            setattr(m, k, getattr(_core, k))
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


def test_kernel_entry_points_come_from_csrc():
    names = ce.kernel_entry_points()
    cus = sorted(p.parent.name for p in (REPO / "csrc" / "ops").glob("*/*_cuda.cu"))
    assert len(cus) >= 10
    for expected in ("make_trimap", "dilate", "erode", "premultiply", "preprocess_into", "solve_alpha"):
        assert expected in names
    assert not [n for n in names if n.startswith("<")]


def test_this_build_passes_and_each_core_failure_is_caught():
    names = ce.kernel_entry_points()
    assert ce.check_core(_core, names) == []
    no_emu = ce.check_core(_core_copy(built_with_emu=False), names)
    assert any("no CUDA emulation" in p for p in no_emu)
    missing = ce.check_core(_core_copy(drop=("make_trimap_emu",)), names)
    assert missing == ["alphacut._core lacks make_trimap_emu: a kernel of csrc/ops is missing from the build"]
    if _core.built_with_cuda:
        assert ce.check_core(_core_copy(drop=("solve_alpha_cuda",)), names)


def test_kernel_added_to_csrc_without_bindings(tmp_path):
    (tmp_path / "csrc" / "ops" / "blur").mkdir(parents=True)
    (tmp_path / "csrc" / "ops" / "blur" / "blur_cuda.cu").write_text("")
    (tmp_path / "csrc" / "bindings").mkdir()
    names = ce.kernel_entry_points(tmp_path)
    assert names == ["<no csrc/bindings/blur.cpp for csrc/ops/blur/blur_cuda.cu>"]
    assert ce.check_core(_core, names)
    (tmp_path / "csrc" / "bindings" / "blur.cpp").write_text('def<&blur_entry>(\n    m, "blur", "doc");')
    assert ce.kernel_entry_points(tmp_path) == ["blur"]
    assert ce.check_core(_core, ["blur"]) == [
        f"alphacut._core lacks blur_{b}: a kernel of csrc/ops is missing from the build"
        for b in ["cpu", "emu"] + (["cuda"] if _core.built_with_cuda else [])
    ]


def test_shared_data(tmp_path):
    assert ce.check_shared(tmp_path / "nonexistent")[0].startswith("the shared test data is missing")
    for f in ce.SHARED_FILES:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes(b"x")
    assert ce.check_shared(tmp_path) == []
    (tmp_path / ce.SHARED_FILES[0]).unlink()
    assert ce.check_shared(tmp_path) == [f"the shared test data lacks {tmp_path / ce.SHARED_FILES[0]}"]


def test_cmake_and_compiler():
    assert ce.check_tools(lambda name: f"/usr/bin/{name}") == []
    no_cmake = ce.check_tools(lambda name: None if name == "cmake" else f"/usr/bin/{name}")
    assert len(no_cmake) == 1 and "cmake" in no_cmake[0]
    assert len(ce.check_tools(lambda name: None)) == 2


def test_skips_only_gpu_and_trt():
    ok = {"collected": 3, "skips": [{"nodeid": "a", "reason": "no GPU", "markers": ["gpu"]}]}
    assert ce.check_skips(ok) == []
    assert ce.check_skips({"collected": 3, "skips": [{"nodeid": "b", "markers": ["trt", "parametrize"]}]}) == []
    bad = {
        "collected": 3,
        "skips": ok["skips"] + [{"nodeid": "t::x", "reason": "real data not present", "markers": []}],
    }
    assert ce.check_skips(bad) == ["skipped without a gpu/trt marker: t::x: real data not present"]
    assert ce.check_skips(None)[0].startswith("no skip report")
    by_design = {
        "nodeid": "s",
        "reason": "Skipped: emu checks the kernels on the quick composites (half)",
        "markers": [],
    }
    assert ce.check_skips({"collected": 1, "skips": [by_design]}) == []
    assert ce.check_skips({"collected": 0, "skips": []})


def test_the_skip_report_of_a_real_run(tmp_path):
    """conftest.py writes every skip with its test's markers; a test skipped for missing data is
    reported, one skipped for want of TensorRT is not."""
    t = tmp_path / "test_probe.py"
    t.write_text(
        "import pytest\n"
        "@pytest.mark.trt\n"
        "def test_trt():\n    pytest.skip('TensorRT runtime unavailable')\n"
        "def test_data():\n    pytest.skip('real data not present')\n"
        "def test_ok():\n    pass\n"
    )
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    report = tmp_path / "skips.json"
    env = dict(__import__("os").environ, ALPHACUT_SKIP_REPORT=str(report), PYTHONPATH=str(PACKAGE_DIR))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(t),
            "-c",
            "/dev/null",
            "--rootdir",
            str(tmp_path),
            "-m",
            "not nothing",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    data = json.loads(report.read_text())
    assert data["collected"] == 3
    assert [(s["nodeid"].split("::")[1], "trt" in s["markers"]) for s in data["skips"]] == [
        ("test_trt", True),
        ("test_data", False),
    ]
    assert ce.check_skips(data) == [
        "skipped without a gpu/trt marker: " + data["skips"][1]["nodeid"] + ": " + data["skips"][1]["reason"]
    ]


def test_entry_points_registered_for_the_cpu_alone_need_no_kernel():
    # estimate_foreground_rgba is bound for the CPU only (the device backends compose
    # estimate_foreground and pack_rgba): it must not be required as _emu / _cuda.
    names = ce.kernel_entry_points()
    assert "estimate_foreground" in names and "estimate_foreground_rgba" not in names
