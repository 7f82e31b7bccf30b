"""Device arrays: objects that expose ``__cuda_array_interface__`` (CuPy, PyTorch CUDA tensors,
Numba, alphacut's own ``CudaDeviceArray``) are passed to the GPU kernels in place, zero-copy;
the result then stays on the device. NumPy arrays are uploaded for the call and come back as
NumPy.

Host-side checks (NaN, value ranges) need the data on the host, so for device arrays only the
shape and dtype are checked (natively, from the interface).
"""

from __future__ import annotations

from ..errors import InputError
from . import _dispatch


def is_device_array(x) -> bool:
    """True for objects that expose ``__cuda_array_interface__``."""
    return hasattr(x, "__cuda_array_interface__")


def any_device(*xs) -> bool:
    return any(is_device_array(x) for x in xs)


def interface(x) -> dict:
    """The ``__cuda_array_interface__`` dict of a device array, checked for the fields we read."""
    cai = x.__cuda_array_interface__
    for key in ("shape", "typestr", "data"):
        if key not in cai:
            raise InputError(f"__cuda_array_interface__ lacks {key!r}")
    return cai


def resolve(backend: str) -> str:
    """The backend for a call with device arrays: "auto" picks "cuda"; "cpu" cannot read them."""
    if backend == "auto":
        backend = "cuda"
    if backend == "cpu":
        raise InputError(
            "device arrays (__cuda_array_interface__) need backend='cuda'; copy them to the host "
            "(e.g. .get() / .cpu().numpy()) to use backend='cpu'"
        )
    return _dispatch.resolve(backend)
