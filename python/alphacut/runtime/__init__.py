"""Network runtimes: the engines that run the segmentation and matting networks (ONNX Runtime,
its CUDA provider, TensorRT), behind one :class:`~alphacut.runtime.base.Runtime` interface.

- :mod:`.base`: :class:`Runtime`, the lifecycle (``activate / infer / deactivate``);
- :mod:`.onnxruntime`: :class:`OrtRuntime`; :mod:`.fp16`: the FP16 conversion it can run;
- :mod:`.trt`: TensorRT build specs, engine cache, loaders and :class:`TensorRTRuntime`;
- :mod:`.factory`: :func:`create_runtime`, :func:`load_runtime` and :func:`open_runtime`, the one way to get a runtime.

Where the native post-processing kernels run (cpu, cuda, emu) is a *backend*, not a runtime:
see :mod:`alphacut.ops` and :mod:`alphacut.device`. Importing this package never imports
``tensorrt`` (or ``onnx``): each is imported when first needed.
"""

from __future__ import annotations

from .base import Runtime
from .factory import PRECISIONS, RUNTIMES, create_runtime, load_runtime, open_runtime, tensorrt_unavailable_reason
from .onnxruntime import OrtRuntime

_TRT_NAMES = (
    "TensorRTRuntime",
    "EngineCache",
    "NetworkFromOnnxPath",
    "EngineFromNetwork",
    "SaveEngine",
    "EngineFromBytes",
    "build_or_load_engine",
)


def __getattr__(name):
    # The TensorRT names without importing the trt package until one is used.
    if name in _TRT_NAMES:
        from . import trt

        return getattr(trt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PRECISIONS",
    "RUNTIMES",
    "Runtime",
    "OrtRuntime",
    "TensorRTRuntime",
    "EngineCache",
    "NetworkFromOnnxPath",
    "EngineFromNetwork",
    "SaveEngine",
    "EngineFromBytes",
    "build_or_load_engine",
    "create_runtime",
    "load_runtime",
    "open_runtime",
    "tensorrt_unavailable_reason",
]
