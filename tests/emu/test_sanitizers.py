"""Builds csrc/emu/tests (the emulated kernels against the CPU ops, no Python) with
AddressSanitizer + UndefinedBehaviorSanitizer in a temporary directory and runs it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "csrc" / "emu" / "tests"


def _tools():
    cmake = shutil.which("cmake")
    if cmake is None:
        try:
            import cmake as cmake_pkg  # the PyPI wheel

            cmake = str(Path(cmake_pkg.CMAKE_BIN_DIR) / "cmake")
        except ImportError:
            pytest.skip("cmake is not installed (needed to build the sanitizer self-test)")
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler found (needed to build the sanitizer self-test)")
    if sys.platform != "linux":
        pytest.skip("the sanitizer self-test uses ucontext fibers and runs on Linux only")
    return cmake, cxx


def _sanitizers_link(cxx: str, tmp: Path) -> bool:
    src = tmp / "probe.cpp"
    src.write_text("int main() { return 0; }\n")
    r = subprocess.run(
        [cxx, "-fsanitize=address,undefined", str(src), "-o", str(tmp / "probe")], capture_output=True, text=True
    )
    return r.returncode == 0


def test_emulated_kernels_under_asan_ubsan(tmp_path):
    cmake, cxx = _tools()
    if not _sanitizers_link(cxx, tmp_path):
        pytest.skip(f"{cxx} cannot link -fsanitize=address,undefined here (libasan/libubsan missing)")
    build = tmp_path / "build"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    cfg = subprocess.run(
        [cmake, "-S", str(SRC), "-B", str(build), *gen, f"-DCMAKE_CXX_COMPILER={cxx}"], capture_output=True, text=True
    )
    assert cfg.returncode == 0, cfg.stdout + cfg.stderr
    jobs = os.environ.get("JOBS", "2")
    bld = subprocess.run([cmake, "--build", str(build), "-j", jobs], capture_output=True, text=True)
    assert bld.returncode == 0, bld.stdout[-4000:] + bld.stderr[-4000:]
    env = dict(
        os.environ,
        ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1",
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
    )
    run = subprocess.run([str(build / "emu_selftest")], capture_output=True, text=True, env=env, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    assert "all emulated kernels agree with the CPU ops" in run.stdout
    assert "ERROR: AddressSanitizer" not in out and "runtime error:" not in out, out[-6000:]
