"""How the process heap treats the large buffers of a cut: returned to the system, or kept.

A 12 MP cut allocates and frees a few hundred MiB of large buffers: ONNX Runtime's arena for the
network's activations, then the full-size image, alpha and cutout. With glibc's defaults every
buffer above 32 MiB is its own ``mmap``: freed to the system at once, and its pages faulted in and
zeroed again by the kernel on the next cut (at 12 MP, tens of milliseconds of system time per
cut, on top of the work).

``retain`` (:func:`retain_heap`) keeps freed memory in the heap instead (glibc's
``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` raised to :data:`RETAIN_BYTES`), so the next cut
reuses pages that are already resident. ONNX Runtime then also hands its arena back to the heap
at the end of each network call made on the main thread (:mod:`alphacut.runtime.onnxruntime`), so
the network's activations and the full-size post-processing reuse the same pages instead of adding
up: a lower peak, not a higher one. The resident set stays near the peak of the largest cut
between cuts. Only the main thread's heap (glibc's main arena) keeps chunks above 64 MiB; other
threads' arenas still hand those back, which is why the arena is only handed back on the main
thread.

The setting is process-wide, so a library does not make it on its own. The ``alphacut`` command
applies it at start unless ``ALPHACUT_HEAP=system``, except ``alphacut serve``. The server cuts on
worker threads, where keeping freed memory gained no time and held more of it, so it keeps
glibc's defaults unless ``ALPHACUT_HEAP=retain``. A program embedding alphacut calls
:func:`retain_heap` or sets ``ALPHACUT_HEAP=retain`` before its first cut (then
:func:`apply_setting`, called by :class:`alphacut.Session`, makes it). Where the C library is not
glibc nothing changes and :func:`heap_retained` stays False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from typing import Optional

from .errors import InputError

__all__ = ["RETAIN_BYTES", "apply_setting", "heap_retained", "retain_heap", "setting"]

#: Allocations below this size come from the heap, and up to this much free memory is kept at
#: its top: larger than every buffer of a 100 MP cut.
RETAIN_BYTES = 1 << 30

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_lock = threading.Lock()
_retained = False


def setting(default: str = "system") -> str:
    """``ALPHACUT_HEAP`` (``retain`` or ``system``), else ``default``."""
    raw = os.environ.get("ALPHACUT_HEAP", "").strip().lower()
    if not raw:
        return default
    if raw not in ("retain", "system"):
        raise InputError(f"ALPHACUT_HEAP must be 'retain' or 'system', got {raw!r}")
    return raw


def _glibc() -> Optional[ctypes.CDLL]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    # glibc only: musl has no mallopt thresholds
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def retain_heap() -> bool:
    """Keep freed memory in the heap for the next cut (see the module's text). True when the C
    library took the setting (glibc), False elsewhere. Idempotent and thread-safe."""
    global _retained
    with _lock:
        if _retained:
            return True
        libc = _glibc()
        if libc is None:
            return False
        ok = libc.mallopt(_M_MMAP_THRESHOLD, RETAIN_BYTES) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, RETAIN_BYTES) == 1
        _retained = bool(ok)
        return _retained


def heap_retained() -> bool:
    """Whether :func:`retain_heap` has taken effect in this process."""
    return _retained


def apply_setting(default: str = "system") -> bool:
    """Apply ``ALPHACUT_HEAP`` (``default`` when unset): ``retain`` calls :func:`retain_heap`.
    Returns :func:`heap_retained`. The command line calls it with ``default="retain"`` (but
    ``serve``), the server and :class:`alphacut.Session` with ``"system"``."""
    if setting(default) == "retain":
        retain_heap()
    return heap_retained()
