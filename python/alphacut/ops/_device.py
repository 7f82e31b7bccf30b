"""Device arrays: objects that expose ``__cuda_array_interface__`` (CuPy, PyTorch CUDA tensors,
Numba, alphacut's own ``CudaDeviceArray``) or DLPack (``__dlpack__`` with a CUDA device) are
passed to the GPU kernels in place, zero-copy; the result then stays on the device. NumPy
arrays are uploaded for the call and come back as NumPy.

Host-side checks (NaN, value ranges) need the data on the host, so for device arrays only the
shape and dtype are checked (natively, from the interface).
"""

from __future__ import annotations

import ctypes

from ..errors import InputError
from . import _dispatch

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
    if backend == "auto":
        backend = "cuda"
    if backend == "cpu":
        raise InputError(
            "device arrays (__cuda_array_interface__ / DLPack) need backend='cuda'; copy them to the "
            "host (e.g. .get() / .cpu().numpy()) to use backend='cpu'"
        )
    return _dispatch.resolve(backend)


def prepare(backend: str, *xs):
    """(resolved backend, inputs) for a call with device arrays: DLPack tensors are wrapped as
    ``__cuda_array_interface__`` views (zero-copy; the capsule is kept alive by the wrapper)."""
    b = resolve(backend)
    return b, [as_interface(x, b) if x is not None and not hasattr(x, "__cuda_array_interface__")
               and hasattr(x, "__dlpack__") else x for x in xs]


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
            # __dlpack__(stream=None) readies the data on the legacy default stream (1): the
            # native side synchronises it before reading.
            "stream": 1 if dev != _KDL_CPU else None,
            "version": 3,
        }


def as_interface(x, backend: str) -> DLPackView:
    """Wrap a DLPack producer (``__dlpack__``) for the native GPU ops."""
    try:
        capsule = x.__dlpack__(stream=None) if backend == "cuda" else x.__dlpack__()
    except TypeError:
        capsule = x.__dlpack__()
    return DLPackView(capsule, allow_host=backend == "emu")
