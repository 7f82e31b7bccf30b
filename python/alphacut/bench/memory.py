"""Peak memory of one run, native allocations included.

``tracemalloc`` only sees Python's allocator; ONNX Runtime's arena, NumPy buffers allocated in C and
alphacut's native ops are invisible to it. What is measured here is the **resident set size** (RSS)
of the process, from the kernel:

1. A fresh subprocess per image size (so one size's arena does not inflate the next) builds the
   target, makes the input and runs the warm-up.
2. It then resets the kernel's RSS high-water mark (writing ``5`` to ``/proc/self/clear_refs``,
   Linux >= 4.0), notes the current RSS, runs once and reads ``VmHWM``.
3. ``peak_mb`` is that high-water mark: the most memory resident at any moment of the run;
   ``delta_mb = peak_mb - rss_before_mb`` is what the run needed on top of what was already resident
   (model, warm arenas, the input).

Where the reset is not allowed, the fallback is ``getrusage(RUSAGE_SELF).ru_maxrss``, the peak since
the process started, so it includes loading; ``method`` says which was used. Neither counts GPU
memory, memory that was swapped out, or pages mapped but never touched.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from typing import Any, Dict, Optional

from ..errors import Error

_STATUS = "/proc/self/status"


def read_status() -> Dict[str, float]:
    """``VmRSS`` and ``VmHWM`` of this process in MiB (empty where ``/proc`` is absent)."""
    out: Dict[str, float] = {}
    try:
        with open(_STATUS, encoding="ascii", errors="replace") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return out


def reset_peak() -> bool:
    """Reset this process's RSS high-water mark; True when the kernel allowed it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    st = read_status()
    # after a reset VmHWM equals the current RSS (give or take pages touched since)
    return "VmHWM" in st and "VmRSS" in st and st["VmHWM"] <= st["VmRSS"] + 1.0


def maxrss_mb() -> float:
    """``ru_maxrss`` of this process in MiB (KiB on Linux, bytes on macOS)."""
    v = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return v / (1024.0 * 1024.0) if sys.platform == "darwin" else v / 1024.0


class PeakRSS:
    """Context manager: the resident-memory peak of what runs inside it.

    Example
    -------
    >>> import numpy as np
    >>> with PeakRSS() as m:
    ...     a = np.ones(64 * 2**20, np.uint8)  # 64 MiB, touched
    >>> m.result["delta_mb"] > 50
    True
    """

    def __init__(self) -> None:
        self.result: Dict[str, object] = {}

    def __enter__(self) -> PeakRSS:
        self._reset = reset_peak()
        st = read_status()
        self._before = st.get("VmRSS", maxrss_mb())
        return self

    def __exit__(self, *exc) -> None:
        st = read_status()
        if self._reset and "VmHWM" in st:
            peak, method = st["VmHWM"], "VmHWM after clear_refs reset"
        else:
            peak, method = maxrss_mb(), "ru_maxrss since process start (includes loading)"
        self.result = {
            "rss_before_mb": round(self._before, 1),
            "peak_mb": round(peak, 1),
            "delta_mb": round(max(0.0, peak - self._before), 1),
            "method": method,
        }


def measure_in_subprocess(spec: Dict[str, object], timeout: float = 900.0) -> Dict[str, object]:
    """Run :func:`_child` in a fresh interpreter and return its memory figures.

    ``spec`` (JSON-able): ``factory`` ("module:function" building the target), ``kwargs`` for it,
    ``size`` (name), ``shape`` (H, W), ``photo`` (path or None for the procedural scene),
    ``warmup`` (runs before the measured one).
    """
    cmd = [sys.executable, "-m", "alphacut.bench.memory", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=os.environ.copy(), check=False)
    except subprocess.TimeoutExpired:
        raise Error(f"the memory probe for {spec.get('size')} ran past {timeout:.0f} s") from None
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise Error(f"the memory probe for {spec.get('size')} failed (exit {proc.returncode}): " + " | ".join(tail))
    res = json.loads(lines[-1])
    if "error" in res:
        raise Error(f"the memory probe for {spec.get('size')} failed: {res['error']}")
    return res


def _child(spec: Dict[str, Any]) -> Dict[str, object]:
    """Build the target, warm it up, and measure one run; ``spec`` as decoded from the command line."""
    import gc

    from .harness import load_factory
    from .inputs import from_photo, procedural

    shape = tuple(spec["shape"])
    name = str(spec.get("size", ""))
    photo: Optional[str] = spec.get("photo")
    image = from_photo(photo, shape, name) if photo else procedural(shape, name)
    target = load_factory(str(spec["factory"]))(**dict(spec.get("kwargs") or {}))
    try:
        prepared = target.prepare(image)
        for _ in range(int(spec.get("warmup", 1))):
            target.run(prepared)
        gc.collect()
        with PeakRSS() as m:
            target.run(prepared)
        res = dict(m.result)
        res["process_maxrss_mb"] = round(maxrss_mb(), 1)
        return res
    finally:
        target.close()


if __name__ == "__main__":
    try:
        print(json.dumps(_child(json.loads(sys.argv[1]))))
    except Error as exc:
        print(json.dumps({"error": str(exc)}))
