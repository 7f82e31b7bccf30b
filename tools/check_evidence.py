#!/usr/bin/env python3
"""CI's check that the test run had its evidence: fails (exit 1, one line per problem) when

- the installed ``alphacut._core`` has no CUDA emulation (the emulated kernel tests vanish);
- a kernel of ``csrc/ops/<op>/<op>_cuda.cu`` is missing from the build: every entry point that
  ``csrc/bindings/<op>.cpp`` registers must exist as ``<name>_emu`` (and ``<name>_cuda`` in a
  CUDA build) in ``_core`` (but those it registers for the CPU alone, under
  ``#if !ALPHACUT_BINDINGS_GPU``);
- the real models and photos (``../shared/data`` or ``ALPHACUT_SHARED_DATA``) are missing;
- cmake or a C++ compiler is missing (the sanitizer self-test builds with them);
- a test was skipped for any reason but a GPU or TensorRT one: the skip report that
  ``tests/conftest.py`` writes when ``ALPHACUT_SKIP_REPORT`` is set lists every skip with the
  markers of its test; only tests marked ``gpu`` or ``trt`` may skip (and the two by-design
  skips of :data:`ALLOWED_SKIP_REASONS`).

Usage: ``ALPHACUT_SKIP_REPORT=skips.json python -m pytest ...; tools/check_evidence.py --skips skips.json``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterable, List, Optional

REPO = Path(__file__).resolve().parents[1]
#: Markers whose tests may skip (no GPU, no TensorRT on the CI machine).
ALLOWED_SKIP_MARKERS = frozenset({"gpu", "trt"})
#: Skips by design, not for want of evidence (the text their reason starts with): the slow
#: all-composites solve runs on cpu and cuda, emu covers the quick set; a machine whose ONNX
#: Runtime has the CUDA provider has no missing-provider message to check.
ALLOWED_SKIP_REASONS = (
    "emu checks the kernels on the quick composites",
    "ONNX Runtime has the CUDA provider here",
)
#: Files of ../shared/data the tests read (a partial copy is as bad as none).
SHARED_FILES = (
    "models/u2netp_320.onnx",
    "models/mediapipe_selfie_segmentation_256x256.onnx",
    "models/mediapipe_selfie_segmentation.tflite",
    "models/pp_humansegv1_lite_224x398.onnx",
    "models/sinet_320.onnx",
    "images/alphamatting_gt05/input/GT05.jpg",
    "images/composites/input/lemur__on_leaves.jpg",
    "images/rembg/input/car-1.jpg",
)


def shared_dir() -> Path:
    return Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))


def kernel_entry_points(repo: Path = REPO) -> List[str]:
    """The Python entry points of every op that has a CUDA kernel in csrc/ops."""
    names: List[str] = []
    for cu in sorted((repo / "csrc" / "ops").glob("*/*_cuda.cu")):
        op = cu.parent.name
        binding = repo / "csrc" / "bindings" / f"{op}.cpp"
        if not binding.is_file():
            names.append(f"<no csrc/bindings/{op}.cpp for {cu.relative_to(repo)}>")
            continue
        # Entry points registered only on the CPU (inside `#if !ALPHACUT_BINDINGS_GPU`) have no kernel.
        text = re.sub(r"#if !ALPHACUT_BINDINGS_GPU\n.*?#endif", "", binding.read_text(), flags=re.S)
        found = re.findall(r'def<&\w+>\(\s*m,\s*"(\w+)"', text)
        if not found:
            names.append(f"<csrc/bindings/{op}.cpp registers no entry point>")
        names.extend(found)
    return sorted(set(names))


def check_core(core: ModuleType, entry_points: Iterable[str]) -> List[str]:
    problems = []
    if not getattr(core, "built_with_emu", False):
        problems.append(
            "alphacut._core has no CUDA emulation (build with -Ccmake.define.ALPHACUT_EMU=ON): "
            "the emulated kernel tests did not run"
        )
    backends = ["emu"] + (["cuda"] if getattr(core, "built_with_cuda", False) else [])
    for name in entry_points:
        if name.startswith("<"):
            problems.append(f"kernel sources without bindings: {name}")
            continue
        for b in ["cpu"] + backends:
            if not hasattr(core, f"{name}_{b}"):
                problems.append(f"alphacut._core lacks {name}_{b}: a kernel of csrc/ops is missing from the build")
    return problems


def check_shared(root: Path) -> List[str]:
    if not root.is_dir():
        return [f"the shared test data is missing: {root} (../shared/data or ALPHACUT_SHARED_DATA)"]
    missing = [f for f in SHARED_FILES if not (root / f).is_file()]
    return [f"the shared test data lacks {root / f}" for f in missing]


def check_tools(which=shutil.which) -> List[str]:
    problems = []
    if which("cmake") is None:
        problems.append("cmake is not on PATH: the sanitizer self-test (tests/emu/test_sanitizers.py) cannot run")
    if not any(which(c) for c in (os.environ.get("CXX") or "c++", "g++", "clang++")):
        problems.append("no C++ compiler on PATH: the sanitizer self-test cannot run")
    return problems


def _strip(reason: str) -> str:
    return reason[len("Skipped: ") :] if reason.startswith("Skipped: ") else reason


def check_skips(report: Optional[dict]) -> List[str]:
    if report is None:
        return ["no skip report: run pytest with ALPHACUT_SKIP_REPORT=<file> (tests/conftest.py writes it)"]
    problems = []
    if report.get("collected", 0) == 0:
        problems.append("the skip report says no test was collected")
    bad = [
        s
        for s in report.get("skips", [])
        if not ALLOWED_SKIP_MARKERS & set(s.get("markers", []))
        and not _strip(s.get("reason", "")).startswith(ALLOWED_SKIP_REASONS)
    ]
    for s in bad[:25]:
        problems.append(f"skipped without a gpu/trt marker: {s['nodeid']}: {s.get('reason', '')}")
    if len(bad) > 25:
        problems.append(f"... and {len(bad) - 25} more skips without a gpu/trt marker")
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skips", type=Path, required=True, help="the skip report of the test run (ALPHACUT_SKIP_REPORT)")
    args = ap.parse_args(argv)
    from alphacut import _core

    report = json.loads(args.skips.read_text()) if args.skips.is_file() else None
    problems = (
        check_core(_core, kernel_entry_points()) + check_shared(shared_dir()) + check_tools() + check_skips(report)
    )
    for p in problems:
        print(f"evidence: {p}", file=sys.stderr)
    if problems:
        print(f"evidence: FAILED ({len(problems)} problem(s))", file=sys.stderr)
        return 1
    n = len(report["skips"]) if report else 0
    print(f"evidence: OK ({report['collected'] if report else 0} tests collected, {n} GPU/TensorRT skips)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
