"""Network backends behind one :class:`~alphacut.backends.base.Runner` interface.

:func:`create_runner` picks ONNX Runtime or TensorRT. Importing this package never imports
``tensorrt`` (or ``onnx``): each is imported when first needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

from ..errors import BackendUnavailableError, InputError
from .base import Runner
from .onnxruntime import OnnxRuntimeRunner

_BACKENDS = ("auto", "onnxruntime", "cuda", "tensorrt")
_PRECISIONS = ("fp32", "fp16")


def tensorrt_unavailable_reason() -> Optional[str]:
    """None when TensorRT and a CUDA device can be used here, else why not."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "the tensorrt package is not installed"
    try:
        from .tensorrt import gpu_identity

        gpu_identity()
    except Exception as exc:  # no driver, no device, no cuda-python
        return f"no usable CUDA device ({exc})"
    return None


def create_runner(path: Union[str, "os.PathLike[str]"], backend: str = "auto", precision: str = "fp32", *,
                  manifest=None, threads: Optional[int] = None, providers: Optional[Sequence[str]] = None,
                  engine_cache=None) -> Runner:
    """A runner for the ONNX file at ``path``.

    Parameters
    ----------
    path : path-like
        The ONNX model (see :func:`alphacut.models.resolve_model`).
    backend : {"auto", "onnxruntime", "cuda", "tensorrt"}, default "auto"
        "auto" is TensorRT when it and a GPU are usable (and a manifest is given to size the
        engine), else ONNX Runtime on the CPU. "cuda" is ONNX Runtime with its CUDA execution
        provider (the ``onnxruntime-gpu`` package; refused with the reason where it is missing).
    precision : {"fp32", "fp16"}, default "fp32"
        "fp16": a TensorRT FP16 engine, or for ONNX Runtime the graph converted to float16 by
        :func:`alphacut.backends.fp16.convert` (float32 inputs and outputs kept), run without
        graph optimisation so that every tensor between ops is really rounded to FP16.
    manifest : ModelManifest, optional
        Needed for TensorRT (optimisation profile, cache key).
    threads : int, optional
        ONNX Runtime intra-op threads (None: its default).
    providers : sequence of str, optional
        ONNX Runtime execution providers (default CPU).
    engine_cache : EngineCache, optional
        Where TensorRT plans are cached (default ``config.home()/engines``).

    Returns
    -------
    Runner
        Not yet activated; use it as a context manager or call ``activate()``.
    """
    if backend not in _BACKENDS:
        raise InputError(f"backend must be one of {', '.join(_BACKENDS)}, not {backend!r}")
    if precision not in _PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(_PRECISIONS)}, not {precision!r}")
    if backend == "auto":
        backend = "tensorrt" if manifest is not None and tensorrt_unavailable_reason() is None else "onnxruntime"
    if backend == "tensorrt":
        reason = tensorrt_unavailable_reason()
        if reason is not None:
            raise BackendUnavailableError(f"backend 'tensorrt' is not available: {reason}. Use backend='onnxruntime'.")
        if manifest is None:
            raise InputError("backend 'tensorrt' needs the model's manifest (manifest=...) to size the engine")
        from .tensorrt import TensorRTRunner, build_or_load_engine

        p = Path(path)
        return TensorRTRunner(lambda: build_or_load_engine(p, manifest, precision=precision, cache=engine_cache))
    if backend == "cuda":
        providers = ["CUDAExecutionProvider"]
    if precision == "fp16":
        from .fp16 import convert_to_bytes

        # optimization="none": ORT's optimiser would fold the FP16 Casts away on the CPU and
        # hide the rounding this path exists to show.
        return OnnxRuntimeRunner(convert_to_bytes(Path(path)), threads=threads, providers=providers,
                                 optimization="none")
    return OnnxRuntimeRunner(path, threads=threads, providers=providers)


def __getattr__(name):
    # TensorRTRunner and the loaders without importing tensorrt until they are used.
    if name in ("TensorRTRunner", "EngineCache", "NetworkFromOnnxPath", "EngineFromNetwork",
                "SaveEngine", "EngineFromBytes"):
        from . import tensorrt as _trt

        return getattr(_trt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Runner",
    "OnnxRuntimeRunner",
    "TensorRTRunner",
    "EngineCache",
    "NetworkFromOnnxPath",
    "EngineFromNetwork",
    "SaveEngine",
    "EngineFromBytes",
    "create_runner",
    "create_model_runner",
    "tensorrt_unavailable_reason",
]


def create_model_runner(name_or_manifest, path=None, *, backend: str = "auto", precision: str = "fp32",
                        threads: Optional[int] = None, download: bool = True, progress: bool = True) -> Runner:
    """Resolve a model's file, create its runner, activate it and check the graph against the
    manifest: the one call a pipeline needs.

    Parameters
    ----------
    name_or_manifest : str or ModelManifest
        A built-in name (``"u2netp"``) or a manifest (e.g. :func:`alphacut.models.custom_manifest`).
    path : path-like, optional
        An explicit model file (see :func:`alphacut.models.resolve_model`).
    backend, precision, threads
        As for :func:`create_runner`.
    download, progress
        As for :func:`alphacut.models.resolve_model`.

    Returns
    -------
    Runner
        Active, with ``runner.manifest`` set.

    Raises
    ------
    ModelError
        The file is missing, corrupt, or not the network the manifest describes (one message
        listing every mismatch).
    """
    from ..models import ModelManifest, check_io, get_manifest, resolve_model

    manifest = name_or_manifest if isinstance(name_or_manifest, ModelManifest) else get_manifest(name_or_manifest)
    if path is None and Path(manifest.file).is_absolute():  # custom manifests carry their path
        path = manifest.file
    file = resolve_model(manifest, path, download=download, progress=progress)
    runner = create_runner(file, backend=backend, precision=precision, manifest=manifest, threads=threads)
    runner.activate()
    try:
        check_io(manifest, runner.input_metadata(), runner.output_metadata(), source=str(file))
    except BaseException:
        runner.deactivate()
        raise
    runner.manifest = manifest
    return runner
