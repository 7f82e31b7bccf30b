"""The compiled CUDA kernels against the launches the code makes: registers, shared memory and
threads per block from `cuobjdump --dump-resource-usage` of the built module, for every
architecture in it, against the most threads and dynamic shared memory each kernel is launched
with (recorded by the emulation while the ops run) and its `__launch_bounds__`. A kernel that
would fail to launch on a device ("too many resources requested") fails here, on the CPU.

Needs a build with the CUDA kernels (nvcc) and the emulation, and cuobjdump (on PATH, in
$CUDA_HOME/bin, or from the nvidia-cuda-cuobjdump wheel of the test extra)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from alphacut import _core

REGS_PER_BLOCK = 65536  # sm_75 .. sm_90
SHARED_PER_BLOCK = 48 * 1024  # without the opt-in attribute, which the kernels do not set
REG_ALLOC_UNIT = 256  # registers are allocated per warp in units of 256
EXPECTED_ARCHS = {"sm_75", "sm_80", "sm_86", "sm_89", "sm_90"}


def _cuobjdump() -> str | None:
    found = shutil.which("cuobjdump")
    if found:
        return found
    for base in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if base and Path(base, "bin", "cuobjdump").exists():
            return str(Path(base, "bin", "cuobjdump"))
    try:
        import nvidia  # the nvidia-cuda-cuobjdump wheel

        for root in nvidia.__path__:
            for p in Path(root).glob("*/bin/cuobjdump"):
                return str(p)
    except ImportError:
        pass
    return None


def _base(name: str) -> str:
    """`void alphacut::cu::(anonymous namespace)::k<float, 3>(...)` or `(k<TI, TA>)` -> `k`."""
    name = name.strip().strip("()")
    depth, out = 0, []
    for ch in name:  # drop template arguments and parameter lists
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out).split("::")[-1].split()[-1]


def parse_resource_usage(text: str) -> dict[str, dict[str, dict[str, int]]]:
    """{arch: {mangled kernel: {"REG": n, "SHARED": n, ...}}} from cuobjdump's output."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    arch = None
    fn = None
    for line in text.splitlines():
        m = re.match(r"\s*arch = (sm_\d+)", line)
        if m:
            arch = m.group(1)
            out.setdefault(arch, {})
            continue
        m = re.match(r"\s*Function (\S+):", line)
        if m:
            fn = m.group(1)
            continue
        if fn and arch and "REG:" in line:
            out[arch][fn] = {k: int(v) for k, v in re.findall(r"(\w+(?:\[\d+\])?):(\d+)", line)}
            fn = None
    return out


def _demangle(names: list[str]) -> dict[str, str]:
    res = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=True)
    return dict(zip(names, res.stdout.splitlines()))


def _launch_bounds() -> dict[str, int]:
    root = Path(__file__).resolve().parents[2] / "csrc"
    found: dict[str, int] = {}
    consts: dict[str, int] = {}
    for src in list(root.rglob("*.cu")) + list(root.rglob("*.cuh")):
        text = src.read_text()
        for m in re.finditer(r"constexpr\s+int\s+(\w+)\s*=\s*(\d+)\s*;", text):
            consts[m.group(1)] = int(m.group(2))
        for m in re.finditer(r"__launch_bounds__\((\w+)[^)]*\)\s*(\w+)\s*\(", text):
            v = m.group(1)
            found[m.group(2)] = int(v) if v.isdigit() else consts.get(v, 0)
    return found


def _run_ops() -> None:
    """Every op on the emulation, on inputs that take each launch path, so each kernel's launch
    configuration is recorded."""
    rng = np.random.default_rng(0)
    for h, w in ((40, 70), (300, 260)):
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        prob = rng.random((h, w), dtype=np.float32)
        a = rng.random((h, w), dtype=np.float32)
        tri = _core.make_trimap_cpu(prob, 0.8, 0.2, 3)
        _core.make_trimap_emu(prob, 0.8, 0.2, 3)
        _core.dilate_emu((prob > 0.5).astype(np.uint8), 4)
        _core.erode_emu((prob > 0.5).astype(np.uint8), 40)
        _core.guided_filter_emu(rgb, a, 4, 1e-3)
        _core.guided_filter_emu(rgb, a, 120, 1e-3)
        _core.upscale_alpha_emu(a[::2, ::2].copy(), rgb, 2, 1e-4)
        for method in (0, 1, 2):
            _core.resize_emu(rgb, h // 2 + 1, w // 3 + 1, method)
            _core.resize_emu(rgb, h * 2, w * 2, method)
        _core.estimate_foreground_emu(rgb, a)
        _core.solve_alpha_emu(rgb / np.float32(255), tri, prob, prob, 1e-5, 0.1, 0.5, 20, 1e-6)
        _core.pack_rgba_emu(rgb, a, rng.random((h // 2, w // 2, 3), dtype=np.float32), 1, 1)
        _core.composite_emu(rgb.astype(np.float32) / 255, a, np.zeros((h, w, 3), np.float32))
        _core.premultiply_emu(rgb.astype(np.float32) / 255, a)
        _core.unpremultiply_emu(rgb.astype(np.float32) / 255, a)
        _core.preprocess_emu(rgb, 32, 48, 1 / 255, (0.5,) * 3, (0.2,) * 3, False, False)
        _core.preprocess_emu(rgb, 32, 48, 1 / 255, (0.5,) * 3, (0.2,) * 3, True, True)


def check(usage, launches, bounds):
    """The violations, one line each (empty: every kernel fits its launches)."""
    problems = []
    by_base: dict[str, tuple[int, int]] = {}
    for name, (threads, smem) in launches.items():
        b = _base(name)
        t0, s0 = by_base.get(b, (0, 0))
        by_base[b] = (max(t0, threads), max(s0, smem))
    # A launch through a variable (ALPHACUT_LAUNCH(kernel, ...) where `kernel` is one of several
    # instantiations) is recorded under the variable's name: the kernels that no launch names
    # are held to the largest of those launches.
    compiled = {_base(d) for fns in usage.values() for d, _ in fns.values()}
    anonymous = [v for b, v in by_base.items() if b not in compiled]
    wildcard = (max((t for t, _ in anonymous), default=1), max((m for _, m in anonymous), default=0))
    for arch, fns in sorted(usage.items()):
        for demangled, res in fns.values():
            b = _base(demangled)
            threads, smem = by_base.get(b, wildcard)
            limit = bounds.get(b)
            if limit and threads > limit:
                problems.append(f"{arch} {b}: launched with {threads} threads, __launch_bounds__({limit})")
            threads = max(threads, 1)
            warps = -(-threads // 32)
            regs = -(-res["REG"] * 32 // REG_ALLOC_UNIT) * REG_ALLOC_UNIT * warps
            if regs > REGS_PER_BLOCK:
                problems.append(
                    f"{arch} {b}: {res['REG']} registers x {threads} threads needs {regs} > {REGS_PER_BLOCK} per block"
                )
            if res["SHARED"] + smem > SHARED_PER_BLOCK:
                problems.append(
                    f"{arch} {b}: {res['SHARED']} static + {smem} dynamic shared bytes > {SHARED_PER_BLOCK}"
                )
    return problems


@pytest.fixture(scope="module")
def usage():
    if not getattr(_core, "built_with_cuda", False):
        pytest.skip("built without the CUDA kernels (no nvcc at build time)")
    tool = _cuobjdump()
    if tool is None:
        pytest.skip("cuobjdump not found (pip install nvidia-cuda-cuobjdump, or the CUDA toolkit)")
    out = subprocess.run([tool, "--dump-resource-usage", _core.__file__], capture_output=True, text=True, check=True)
    parsed = parse_resource_usage(out.stdout)
    names = sorted({n for fns in parsed.values() for n in fns})
    dem = _demangle(names)
    return {arch: {n: (dem[n], r) for n, r in fns.items()} for arch, fns in parsed.items()}


def test_every_architecture_is_built(usage):
    assert EXPECTED_ARCHS <= set(usage), f"built for {sorted(usage)}"


@pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")
def test_kernels_fit_their_launches(usage):
    _run_ops()
    launches = _core._emu_launch_configs()
    assert launches, "no launches recorded"
    problems = check(usage, launches, _launch_bounds())
    assert not problems, "\n".join(problems)


def test_check_reports_a_kernel_that_does_not_fit():
    usage = {"sm_75": {"k": ("void ns::big_kernel<float>(float*)", {"REG": 72, "SHARED": 40000})}}
    problems = check(usage, {"(big_kernel<T>)": (1024, 16384)}, {"big_kernel": 512})
    assert len(problems) == 3
    assert check(usage, {"big_kernel": (128, 0)}, {"big_kernel": 512}) == []
    # launched through a variable: held to the largest such launch
    assert len(check(usage, {"kernel": (1024, 0)}, {})) == 1
    assert check(usage, {"kernel": (128, 0)}, {}) == []
