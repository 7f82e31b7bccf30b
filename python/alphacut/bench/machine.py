"""What a figure was measured on: CPU, cores, memory, GPU and driver, library versions, load,
and the thread settings in force. Everything here is best effort and never raises: a field that
cannot be read is ``None`` (and shows as "unknown"), never a guess."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from typing import Any, Dict, List, Mapping, Optional

#: distributions whose versions every report states (tensorrt and cv2 only when installed)
VERSION_PACKAGES = (
    "alphacut",
    "numpy",
    "onnxruntime",
    "Pillow",
    "tensorrt",
    "opencv-contrib-python-headless",
    "scipy",
    "pymatting",
    "rembg",
)

#: environment variables that change the figures; reported when set
THREAD_ENV = (
    "ALPHACUT_NUM_THREADS",
    "OMP_NUM_THREADS",
    "ORT_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
)


def cpu_model() -> Optional[str]:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    name = platform.processor() or platform.machine()
    return name or None


def usable_cores() -> Optional[int]:
    """CPUs this process may run on (the affinity mask; what a thread pool can really use)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def memory_total_mb() -> Optional[float]:
    """Physical memory in MiB (``/proc/meminfo``), or None where unreadable."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def load_average() -> Optional[List[float]]:
    """1, 5 and 15-minute load averages: a busy machine makes every figure noisier."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def package_version(dist: str) -> Optional[str]:
    """Installed version of a distribution, or None when it is not installed."""
    if dist == "alphacut":
        try:
            from .. import __version__

            return __version__
        except ImportError:  # pragma: no cover - the package imports itself
            return None
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version(dist)
    except PackageNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - broken metadata must not break a report
        return None


def gpus() -> List[Dict[str, Optional[str]]]:
    """GPUs as ``nvidia-smi`` lists them (name, driver, memory); empty when there is none.

    Reading ``nvidia-smi`` needs no CUDA library in this process, so it never initialises a
    device and works with any backend.
    """
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,driver_version,memory.total,compute_cap", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    rows: List[Dict[str, Optional[str]]] = []
    for line in out.stdout.strip().splitlines():
        parts: List[Optional[str]] = [p.strip() for p in line.split(",")]
        if len(parts) < 2 or not parts[0]:
            continue
        parts += [None] * (4 - len(parts))
        rows.append({"name": parts[0], "driver": parts[1], "memory": parts[2], "compute_capability": parts[3]})
    return rows


def ort_providers() -> Optional[List[str]]:
    """ONNX Runtime's available execution providers, or None without ONNX Runtime."""
    try:
        import onnxruntime as ort

        return list(ort.get_available_providers())
    except Exception:  # noqa: BLE001
        return None


def native_threads() -> Optional[int]:
    """Threads alphacut's CPU ops use (``alphacut.get_num_threads()``), None without the extension."""
    try:
        from ..ops import get_num_threads

        return int(get_num_threads())
    except Exception:  # noqa: BLE001
        return None


def source_commit() -> Optional[str]:
    """The git commit of the alphacut source being measured (``git describe --always --dirty``),
    None when alphacut is not run from a git checkout."""
    from pathlib import Path

    exe = shutil.which("git")
    if not exe:
        return None
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            [exe, "-C", str(here), "describe", "--always", "--dirty", "--abbrev=10"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def heap_mode() -> str:
    """How freed memory is treated in this process and the memory probe's (:mod:`alphacut.heap`):
    "retained" (kept in the heap for the next cut) or "system" (large buffers returned at once)."""
    from .. import heap

    return "retained" if heap.heap_retained() or heap.setting() == "retain" else "system"


def machine_info() -> Dict[str, object]:
    """Everything above in one JSON-ready dict (the ``machine`` section of a report).

    Example
    -------
    >>> info = machine_info()
    >>> {"cpu", "cpu_cores", "gpus"} <= set(info)
    True
    """
    versions = {d: package_version(d) for d in VERSION_PACKAGES}
    return {
        "cpu": cpu_model(),
        "cpu_cores": usable_cores(),
        "cpu_count_os": os.cpu_count(),
        "memory_mb": memory_total_mb(),
        "gpus": gpus(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "versions": {k: v for k, v in versions.items() if v is not None},
        "alphacut_commit": source_commit(),
        "ort_providers": ort_providers(),
        "alphacut_threads": native_threads(),
        "thread_env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
        "heap": heap_mode(),
        "load_average": load_average(),
        "hostname": platform.node() or None,
    }


def describe(info: Mapping[str, Any]) -> List[str]:
    """Human lines for the header of a table: CPU, GPU, versions, threads, load."""

    def show(v):
        return "unknown" if v is None else v

    lines = [
        f"CPU: {show(info.get('cpu'))}, {show(info.get('cpu_cores'))} usable cores"
        + (f", {info['memory_mb'] / 1024:.1f} GiB RAM" if info.get("memory_mb") else "")
    ]
    gl = info.get("gpus") or []
    if gl:
        for g in gl:
            lines.append(
                f"GPU: {g.get('name')} (driver {show(g.get('driver'))}, {show(g.get('memory'))}, "
                f"compute capability {show(g.get('compute_capability'))})"
            )
    else:
        lines.append("GPU: none found (nvidia-smi absent or lists no device)")
    vers = info.get("versions") or {}
    lines.append(
        "versions: "
        + ", ".join(f"{k} {v}" for k, v in vers.items())
        + (f" (alphacut source at commit {info['alphacut_commit']})" if info.get("alphacut_commit") else "")
    )
    lines.append(f"OS: {show(info.get('os'))}, Python {show(info.get('python'))}")
    env = info.get("thread_env") or {}
    threads = f"alphacut threads {show(info.get('alphacut_threads'))}"
    if env:
        threads += "; " + ", ".join(f"{k}={v}" for k, v in env.items())
    lines.append(threads)
    if info.get("heap"):
        lines.append(f"heap: {info['heap']} (alphacut.heap; ALPHACUT_HEAP)")
    la = info.get("load_average")
    if la:
        lines.append(f"load average at start: {la[0]} / {la[1]} / {la[2]} (1 / 5 / 15 min)")
    return lines
