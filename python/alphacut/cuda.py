"""CUDA availability. Importing alphacut never needs a GPU, a driver or the CUDA toolkit."""

from __future__ import annotations

from . import _core


def why_unavailable() -> str | None:
    """None when a CUDA device can be used, else the reason in one sentence."""
    if not getattr(_core, "built_with_cuda", False):
        return "this alphacut was built without CUDA kernels (nvcc was not found at build time)"
    probe = getattr(_core, "cuda_probe", None)
    if probe is None:
        return "this build has no CUDA device probe"
    reason = probe()
    return reason or None


def is_available() -> bool:
    """True when the CUDA kernels were built and a device is present."""
    return why_unavailable() is None


def to_device(array):
    """Copy a NumPy array (float32, float16, uint8 or int32) into CUDA device memory.

    Returns a ``CudaDeviceArray``: it exposes ``__cuda_array_interface__`` (CuPy, PyTorch and
    Numba wrap it without a copy), ``shape``, ``dtype`` and ``get()`` (copy back to NumPy). The
    ops accept it, and return their results on the device, so chains of ops stay on the GPU.
    Raises :class:`alphacut.BackendUnavailableError` when no device can be used.
    """
    from .errors import BackendUnavailableError

    reason = why_unavailable()
    if reason is not None:
        raise BackendUnavailableError(f"CUDA is not available: {reason}")
    return _core.to_device_cuda(array)
