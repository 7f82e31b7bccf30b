"""Deprecated: use :mod:`alphacut.runtime`. Kept for one release; every name read from here warns
with a DeprecationWarning and returns its new equivalent:

``Runner`` -> ``Runtime``, ``OnnxRuntimeRunner`` -> ``OrtRuntime``, ``TensorRTRunner`` ->
``TensorRTRuntime``, ``create_runner(path, backend=...)`` -> ``create_runtime(path, runtime=...)``,
``create_model_runner(..., backend=...)`` -> ``load_runtime(..., runtime=...)``. Their old
defaults are kept (``backend="auto"``, and ``"cuda"`` for ONNX Runtime's CUDA provider).
"""

from __future__ import annotations

import warnings

from . import runtime as _runtime

_OLD_RUNTIME_NAMES = {"cuda": "onnxruntime-cuda"}


def _runtime_name(backend):
    return _OLD_RUNTIME_NAMES.get(backend, backend) if isinstance(backend, str) else backend


def _create_runner(path, backend: str = "auto", precision: str = "fp32", **kwargs):
    return _runtime.create_runtime(path, runtime=_runtime_name(backend), precision=precision, **kwargs)


def _create_model_runner(name_or_manifest, path=None, *, backend: str = "auto", **kwargs):
    return _runtime.load_runtime(name_or_manifest, path, runtime=_runtime_name(backend), **kwargs)


_RENAMED = {
    "Runner": ("Runtime", lambda: _runtime.Runtime),
    "OnnxRuntimeRunner": ("OrtRuntime", lambda: _runtime.OrtRuntime),
    "TensorRTRunner": ("TensorRTRuntime", lambda: _runtime.TensorRTRuntime),
    "create_runner": ("create_runtime", lambda: _create_runner),
    "create_model_runner": ("load_runtime", lambda: _create_model_runner),
}
_SAME = (
    "EngineCache",
    "NetworkFromOnnxPath",
    "EngineFromNetwork",
    "SaveEngine",
    "EngineFromBytes",
    "tensorrt_unavailable_reason",
)


def __getattr__(name: str):
    if name in _RENAMED:
        new, get = _RENAMED[name]
    elif name in _SAME:
        new, get = name, lambda: getattr(_runtime, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"alphacut.backends.{name} is deprecated; use alphacut.runtime.{new}", DeprecationWarning, stacklevel=2
    )
    return get()


def __dir__():
    return sorted((*_RENAMED, *_SAME))


__all__ = sorted((*_RENAMED, *_SAME))
