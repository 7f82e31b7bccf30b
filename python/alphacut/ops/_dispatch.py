"""Backend resolution for the native ops: "auto", "cpu", "cuda" or "emu".

``cpu`` is always built. ``cuda`` exists when the extension was built with nvcc *and* a device
is present at run time. ``emu`` runs the very same CUDA kernels on the CPU through the
emulation harness (built with ``-DALPHACUT_EMU=ON``); it is for tests, never chosen by "auto".
"""

from __future__ import annotations

from typing import Callable

from .. import _core
from ..errors import BackendUnavailableError, InputError

BACKENDS = ("auto", "cpu", "cuda", "emu")


def available_backends() -> list[str]:
    """Backends that can run here, in order of preference."""
    out = []
    if _cuda_ready():
        out.append("cuda")
    out.append("cpu")
    if getattr(_core, "built_with_emu", False):
        out.append("emu")
    return out


def _cuda_ready() -> bool:
    if not getattr(_core, "built_with_cuda", False):
        return False
    from .. import device

    return device.is_available()


def resolve(backend: str) -> str:
    """Map a user's ``backend=`` onto a concrete backend, or raise a clear error."""
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if backend == "auto":
        return "cpu"  # host arrays: the CPU path avoids two transfers; device arrays pick cuda
    if backend == "cuda" and not _cuda_ready():
        from .. import device

        raise BackendUnavailableError(f"backend='cuda' is not available: {device.why_unavailable()}")
    if backend == "emu" and not getattr(_core, "built_with_emu", False):
        raise BackendUnavailableError(
            "backend='emu' is not built into this install; rebuild with `pip install . -Ccmake.define.ALPHACUT_EMU=ON`"
        )
    return backend


def native(name: str, backend: str) -> Callable:
    """The native entry point ``_core.<name>_<backend>`` for a resolved backend."""
    fn = getattr(_core, f"{name}_{backend}", None)
    if fn is None:
        raise BackendUnavailableError(f"{name} has no {backend!r} implementation in this build")
    return fn
