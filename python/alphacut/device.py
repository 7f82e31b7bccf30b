"""Device memory and streams: the one module that knows how arrays get onto a GPU and back.

- **Availability**: :func:`is_available`, :func:`why_unavailable`. Importing alphacut never
  needs a GPU, a driver or the CUDA toolkit.
- **Uploads** for the native ops: :func:`to_device` copies a NumPy array into the memory of a
  GPU backend (``"cuda"``, or ``"emu"``: the same kernels emulated on the CPU, for tests) and
  :func:`transfer_stats` counts the host↔device copies the bindings made.
- **Device arrays** the ops read in place: objects that expose ``__cuda_array_interface__``
  (CuPy, PyTorch CUDA tensors, Numba, alphacut's own ``CudaDeviceArray``) or DLPack
  (``__dlpack__`` with a CUDA device) are passed to the GPU kernels zero-copy, and the result
  then stays on the device. NumPy arrays are uploaded for the call and come back as NumPy. Host-side
  checks (NaN, value ranges) need the data on the host, so for device arrays only the shape and
  dtype are checked (natively, from the interface).
- TensorRT engines bind the same ``_core`` device buffers (:mod:`alphacut.runtime.trt.runner`).
"""

from __future__ import annotations

import ctypes
from typing import Dict

import numpy as np

from . import _core
from .errors import BackendUnavailableError, InputError

__all__ = [
    "DLPackView",
    "any_device",
    "as_interface",
    "check_same_size",
    "interface",
    "is_available",
    "is_device_array",
    "prepare",
    "resolve",
    "shape",
    "to_device",
    "transfer_stats",
    "why_unavailable",
]

#: The backends whose arrays live in device memory.
DEVICE_BACKENDS = ("cuda", "emu")


# ---- availability -----------------------------------------------------------------------------


def why_unavailable() -> str | None:
    """None when a CUDA device can run this build's kernels, else the reason in one sentence.

    The probe counts the devices and then launches a one-thread kernel and reads its result, so a
    GPU whose architecture this build has no code for (e.g. an older one than sm_75) is reported
    here, with the runtime's reason, instead of failing in the first op ("no kernel image").
    """
    return _why_unavailable_for("cuda")


#: What the CUDA kernels are built for (cmake/cuda.cmake); the reason a probe gives names it.
BUILT_ARCHITECTURES = "sm_75, sm_80, sm_86, sm_89 and sm_90 code, and compute_90 PTX for newer GPUs"


_kernel_probe_results: Dict[str, str] = {}


def _why_unavailable_for(backend: str) -> str | None:
    """The probe behind :func:`why_unavailable` for a GPU backend ("cuda", or "emu", whose
    emulated device can be told to fail launches so that the probe's logic is tested without a
    GPU)."""
    if backend == "cuda":
        if not getattr(_core, "built_with_cuda", False):
            return "this alphacut was built without CUDA kernels (nvcc was not found at build time)"
        probe = getattr(_core, "cuda_probe", None)
        if probe is None:
            return "this build has no CUDA device probe"
        reason = probe()
        if reason:
            return reason
    if backend == "cuda" and backend in _kernel_probe_results:
        reason = _kernel_probe_results[backend]  # the GPU's architecture does not change
    else:
        kernel_probe = getattr(_core, f"gpu_probe_{backend}", None)
        if kernel_probe is None:
            return f"this build has no {backend} kernel probe"
        reason = kernel_probe()
        if backend == "cuda":
            _kernel_probe_results[backend] = reason
    if reason:
        return f"the GPU cannot run this build's kernels ({BUILT_ARCHITECTURES}): {reason}"
    return None


def is_available() -> bool:
    """True when the CUDA kernels were built and a device is present."""
    return why_unavailable() is None


# ---- uploads ----------------------------------------------------------------------------------


def _device_backend(backend: str) -> str:
    if backend not in DEVICE_BACKENDS:
        raise InputError(f"backend must be one of {', '.join(DEVICE_BACKENDS)} for device memory; got {backend!r}")
    if backend == "cuda":
        reason = why_unavailable()
        if reason is not None:
            raise BackendUnavailableError(f"CUDA is not available: {reason}")
    elif not getattr(_core, "built_with_emu", False):
        raise BackendUnavailableError(
            "backend='emu' is not built into this install; rebuild with `pip install . -Ccmake.define.ALPHACUT_EMU=ON`"
        )
    return backend


def to_device(array, backend: str = "cuda"):
    """Copy a NumPy array (float32, float16, uint8 or int32) into the device memory of ``backend``.

    Parameters
    ----------
    array : numpy.ndarray
        Copied C-contiguous; counted as one upload by :func:`transfer_stats`.
    backend : {"cuda", "emu"}, default "cuda"
        ``"emu"``: the emulated device of the CUDA kernels run on the CPU (tests).

    Returns
    -------
    CudaDeviceArray (or EmuDeviceArray)
        It exposes ``__cuda_array_interface__`` (CuPy, PyTorch and Numba wrap it without a
        copy), ``shape``, ``dtype`` and ``get()`` (copy back to NumPy). The ops accept it, and
        return their results on the device, so chains of ops stay on the GPU.

    Raises
    ------
    BackendUnavailableError
        No device can be used (or, for "emu", the emulation is not built in).

    Examples
    --------
    >>> d = to_device(np.zeros((4, 4), np.float32))  # doctest: +SKIP
    >>> d.get().shape                                # doctest: +SKIP
    (4, 4)
    """
    b = _device_backend(backend)
    return getattr(_core, f"to_device_{b}")(np.ascontiguousarray(array))


def transfer_stats(backend: str, reset: bool = False) -> Dict[str, int]:
    """Host↔device copies made by the native GPU bindings of ``backend`` ("cuda" or "emu") since
    the last reset; ``reset=True`` zeroes the counters after reading them."""
    if backend not in DEVICE_BACKENDS:
        raise InputError(f"backend must be one of {', '.join(DEVICE_BACKENDS)} for device memory; got {backend!r}")
    fn = getattr(_core, f"transfer_stats_{backend}", None)
    if fn is None:
        raise BackendUnavailableError(f"transfer_stats has no {backend!r} implementation in this build")
    return dict(fn(reset))


# ---- device arrays ----------------------------------------------------------------------------

_KDL_CPU, _KDL_CUDA, _KDL_CUDA_HOST, _KDL_CUDA_MANAGED = 1, 2, 3, 13
_CUDA_DEVICES = (_KDL_CUDA, _KDL_CUDA_HOST, _KDL_CUDA_MANAGED)


def _dlpack_device(x):
    try:
        return tuple(x.__dlpack_device__())
    except Exception:  # noqa: BLE001 - not a DLPack producer
        return None


def is_device_array(x) -> bool:
    """True for ``__cuda_array_interface__`` objects and DLPack tensors on a CUDA device."""
    if hasattr(x, "__cuda_array_interface__"):
        return True
    if hasattr(x, "__dlpack__"):
        dev = _dlpack_device(x)
        return dev is not None and dev[0] in _CUDA_DEVICES
    return False


def any_device(*xs) -> bool:
    return any(x is not None and is_device_array(x) for x in xs)


def interface(x) -> dict:
    """The ``__cuda_array_interface__`` dict of a device array, checked for the fields we read."""
    cai = x.__cuda_array_interface__
    for key in ("shape", "typestr", "data"):
        if key not in cai:
            raise InputError(f"__cuda_array_interface__ lacks {key!r}")
    return cai


def shape(x) -> tuple:
    """The shape of a device array (from its interface), for the checks the host path makes."""
    if hasattr(x, "__cuda_array_interface__"):
        return tuple(int(v) for v in interface(x)["shape"])
    return tuple(int(v) for v in x.shape)


def check_same_size(a, b, na: str, nb: str) -> None:
    sa, sb = shape(a)[:2], shape(b)[:2]
    if sa != sb:
        raise InputError(f"{na} has size {sa} but {nb} has size {sb}; they must match")


def resolve(backend: str) -> str:
    """The backend for a call with device arrays: "auto" picks "cuda"; "cpu" cannot read them."""
    from .ops import _dispatch  # the ops import this module

    if backend == "auto":
        backend = "cuda"
    if backend == "cpu":
        raise InputError(
            "device arrays (__cuda_array_interface__ / DLPack) need backend='cuda'; copy them to the "
            "host (e.g. .get() / .cpu().numpy()) to use backend='cpu'"
        )
    return _dispatch.resolve(backend)


def prepare(backend: str, *xs, stream: int = 0):
    """(resolved backend, inputs) for a call with device arrays: DLPack tensors are wrapped as
    ``__cuda_array_interface__`` views (zero-copy; the capsule is kept alive by the wrapper),
    asked to be ready on ``stream``, the stream the call will run on (0: its private stream)."""
    b = resolve(backend)
    return b, [
        as_interface(x, b, stream)
        if x is not None and not hasattr(x, "__cuda_array_interface__") and hasattr(x, "__dlpack__")
        else x
        for x in xs
    ]


# ---- DLPack -----------------------------------------------------------------------------------


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


_capsule_get = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_get.restype = ctypes.c_void_p
_capsule_get.argtypes = [ctypes.py_object, ctypes.c_char_p]

_TYPESTR = {(2, 32): "<f4", (2, 16): "<f2", (1, 8): "|u1", (0, 32): "<i4"}


class DLPackView:
    """A DLPack tensor seen through ``__cuda_array_interface__`` (v3). Holds the capsule, so the
    producer keeps the memory alive for as long as this view exists; the capsule is not marked
    consumed, and its own destructor releases the tensor."""

    def __init__(self, capsule, allow_host: bool):
        ptr = _capsule_get(capsule, b"dltensor")
        if not ptr:
            raise InputError("DLPack capsule holds no tensor (already consumed?)")
        t = _DLTensor.from_address(ptr)  # DLManagedTensor starts with its DLTensor
        dev = t.device.device_type
        if dev not in _CUDA_DEVICES and not (allow_host and dev == _KDL_CPU):
            raise InputError(f"DLPack tensor is on device type {dev}, not a CUDA device")
        if t.dtype.lanes != 1 or (t.dtype.code, t.dtype.bits) not in _TYPESTR:
            raise InputError(f"DLPack dtype (code {t.dtype.code}, bits {t.dtype.bits}) is not supported")
        itemsize = t.dtype.bits // 8
        shape = tuple(int(t.shape[i]) for i in range(t.ndim))
        strides = None if not t.strides else tuple(int(t.strides[i]) * itemsize for i in range(t.ndim))
        self._capsule = capsule
        self.shape = shape
        self.__cuda_array_interface__ = {
            "shape": shape,
            "typestr": _TYPESTR[(t.dtype.code, t.dtype.bits)],
            "data": ((t.data or 0) + t.byte_offset, False),
            "strides": strides,
            # as_interface asked the producer for the stream the op runs on: ready there.
            "stream": None,
            "version": 3,
        }


def as_interface(x, backend: str, stream: int = 0) -> DLPackView:
    """Wrap a DLPack producer (``__dlpack__``) for the native GPU ops that will read it on
    ``stream`` (a raw cudaStream_t; 0: the op's private stream, which is a blocking stream and so
    waits for the legacy default stream, 1 in DLPack's numbering). The producer is asked for that
    stream, and orders its pending work before it, so the view needs no further wait."""
    on_cuda = (_dlpack_device(x) or (None,))[0] in _CUDA_DEVICES
    if on_cuda:
        capsule = x.__dlpack__(stream=int(stream) if stream else 1)
    else:
        capsule = x.__dlpack__()
    return DLPackView(capsule, allow_host=backend == "emu")
