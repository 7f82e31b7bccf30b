"""The NVIDIA GPUs of this machine, through the CUDA driver API (``libcuda``, which every driver
installs) called with ctypes: no cuda-python, CuPy or toolkit needed.

:func:`list_gpus` gives every device (name, compute capability, memory) and the driver version,
:func:`current_gpu` the device the calling thread's CUDA context is on (the one TensorRT builds
for and runs on), device 0 when no context is current yet: the CUDA runtime's default.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ...errors import BackendUnavailableError

__all__ = ["Gpu", "current_gpu", "driver_version", "list_gpus", "stream_synchronize"]

_CC_MAJOR, _CC_MINOR = 75, 76  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_{MAJOR,MINOR}
_INVALID_CONTEXT = 201  # CUDA_ERROR_INVALID_CONTEXT: no context current on this thread


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    compute_capability: str
    memory_mib: int


_lib: Optional[ctypes.CDLL] = None


def _driver() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    names = ["libcuda.so.1", "libcuda.so", "nvcuda.dll", ctypes.util.find_library("cuda")]
    errors = []
    for n in names:
        if not n:
            continue
        try:
            lib = ctypes.CDLL(n)
            break
        except OSError as exc:
            errors.append(str(exc))
    else:
        raise BackendUnavailableError(
            "the NVIDIA driver's libcuda is not installed (no NVIDIA driver on this machine): " + errors[0]
        )
    rc = lib.cuInit(0)
    if rc != 0:
        raise BackendUnavailableError(f"the NVIDIA driver does not initialise (cuInit error {rc}): no usable GPU")
    _lib = lib
    return lib


def _ok(rc: int, what: str) -> None:
    if rc != 0:
        raise BackendUnavailableError(f"CUDA driver call {what} failed with error {rc}")


def driver_version() -> str:
    """The CUDA version the driver supports, e.g. "12.4"."""
    v = ctypes.c_int()
    _ok(_driver().cuDriverGetVersion(ctypes.byref(v)), "cuDriverGetVersion")
    return f"{v.value // 1000}.{(v.value % 1000) // 10}"


def _gpu(lib: ctypes.CDLL, index: int) -> Gpu:
    dev = ctypes.c_int()
    _ok(lib.cuDeviceGet(ctypes.byref(dev), index), "cuDeviceGet")
    buf = ctypes.create_string_buffer(256)
    _ok(lib.cuDeviceGetName(buf, 256, dev), "cuDeviceGetName")
    major, minor = ctypes.c_int(), ctypes.c_int()
    _ok(lib.cuDeviceGetAttribute(ctypes.byref(major), _CC_MAJOR, dev), "cuDeviceGetAttribute")
    _ok(lib.cuDeviceGetAttribute(ctypes.byref(minor), _CC_MINOR, dev), "cuDeviceGetAttribute")
    mem = ctypes.c_size_t()
    _ok(lib.cuDeviceTotalMem_v2(ctypes.byref(mem), dev), "cuDeviceTotalMem")
    return Gpu(index, buf.value.decode(errors="replace"), f"{major.value}.{minor.value}", mem.value >> 20)


def list_gpus() -> Tuple[List[Gpu], str]:
    """(every visible GPU, the driver's CUDA version); :class:`BackendUnavailableError` with the
    reason where there is no driver or no device."""
    lib = _driver()
    n = ctypes.c_int()
    _ok(lib.cuDeviceGetCount(ctypes.byref(n)), "cuDeviceGetCount")
    if n.value == 0:
        raise BackendUnavailableError("the NVIDIA driver sees no GPU (CUDA_VISIBLE_DEVICES?)")
    return [_gpu(lib, i) for i in range(n.value)], driver_version()


def current_gpu() -> Gpu:
    """The GPU of the calling thread's current CUDA context (set by ``cudaSetDevice``, CuPy's or
    PyTorch's device guards), or device 0 when none is current: where TensorRT will build and
    run an engine created now."""
    lib = _driver()
    dev = ctypes.c_int()
    rc = lib.cuCtxGetDevice(ctypes.byref(dev))
    if rc == _INVALID_CONTEXT:
        return _gpu(lib, 0)
    _ok(rc, "cuCtxGetDevice")
    # cuCtxGetDevice gives the CUdevice handle, which for the driver is its ordinal.
    return _gpu(lib, dev.value)


def stream_synchronize(stream: int) -> None:
    """Wait for the work queued on a ``cudaStream_t`` handle (CUstream and cudaStream_t are the
    same handles; 2 is the per-thread default stream)."""
    lib = _driver()
    _ok(lib.cuStreamSynchronize(ctypes.c_void_p(int(stream))), "cuStreamSynchronize")
