"""The one factory of network runtimes.

:func:`create_runtime` makes a runtime for an ONNX file (not yet activated);
:func:`load_runtime` is what a pipeline needs: it resolves a model's file, creates and activates
its runtime and checks the graph against the manifest. Runtime names:

``"onnxruntime"``       ONNX Runtime on the CPU;
``"onnxruntime-cuda"``  ONNX Runtime with its CUDA execution provider (the ``onnxruntime-gpu`` package);
``"tensorrt"``          a TensorRT engine, built from the ONNX file and cached (needs the manifest);
``"auto"``              TensorRT where it and a GPU are usable and a manifest is given, else ONNX Runtime.

Nothing here imports ``tensorrt`` or ``onnx`` until a runtime that needs them is created.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Optional, Sequence, Union

from ..errors import BackendUnavailableError, InputError
from .base import Runtime
from .onnxruntime import OrtRuntime

__all__ = ["PRECISIONS", "RUNTIMES", "create_runtime", "load_runtime", "tensorrt_unavailable_reason"]

RUNTIMES = ("onnxruntime", "onnxruntime-cuda", "tensorrt", "auto")
PRECISIONS = ("fp32", "fp16")
# Old spellings still accepted, with a DeprecationWarning: "cuda" meant ONNX Runtime's CUDA provider.
_DEPRECATED_NAMES = {"cuda": "onnxruntime-cuda"}


def tensorrt_unavailable_reason() -> Optional[str]:
    """None when TensorRT and a CUDA device can be used here, else why not."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "the tensorrt package is not installed"
    from ..device import why_unavailable

    reason = why_unavailable()  # the bindings live in the memory of alphacut's CUDA kernels
    if reason is not None:
        return f"no usable CUDA device ({reason})"
    try:
        from .trt.gpu import current_gpu

        current_gpu()
    except Exception as exc:  # no driver, no device
        return f"no usable CUDA device ({exc})"
    return None


def _checked(runtime: str, precision: Optional[str]) -> str:
    """``runtime`` with a deprecated spelling replaced (and warned about); both names checked."""
    if isinstance(runtime, str) and runtime in _DEPRECATED_NAMES:
        new = _DEPRECATED_NAMES[runtime]
        warnings.warn(f"runtime {runtime!r} is deprecated; use {new!r}", DeprecationWarning, stacklevel=3)
        runtime = new
    if runtime not in RUNTIMES:
        raise InputError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if precision is not None and precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return runtime


def create_runtime(
    path: Union[str, os.PathLike[str]],
    runtime: str = "onnxruntime",
    precision: Optional[str] = None,
    *,
    manifest=None,
    threads: Optional[int] = None,
    providers: Optional[Sequence[str]] = None,
    engine_cache=None,
) -> Runtime:
    """A runtime for the ONNX file at ``path``.

    Parameters
    ----------
    path : path-like
        The ONNX model (see :func:`alphacut.models.resolve_model`).
    runtime : {"onnxruntime", "onnxruntime-cuda", "tensorrt", "auto"}, default "onnxruntime"
        "auto" is TensorRT when it and a GPU are usable (and a manifest is given to size the
        engine), else ONNX Runtime on the CPU. "onnxruntime-cuda" is ONNX Runtime with its CUDA
        execution provider (the ``onnxruntime-gpu`` package; refused with the reason where it is
        missing). The old spelling "cuda" is accepted with a DeprecationWarning.
    precision : {"fp32", "fp16"}, optional
        None: the runtime's own default, FP16 for TensorRT (the model's build spec) and FP32 for
        ONNX Runtime. "fp16": a TensorRT FP16 engine, or for ONNX Runtime the graph converted to float16 by
        :func:`alphacut.runtime.fp16.convert` (float32 inputs and outputs kept), run without
        graph optimisation so that every tensor between ops is really rounded to FP16.
    manifest : ModelManifest, optional
        Needed for TensorRT (optimisation profile, cache key).
    threads : int, optional
        ONNX Runtime intra-op threads (None: its default).
    providers : sequence of str, optional
        ONNX Runtime execution providers (default CPU; "onnxruntime-cuda" sets them).
    engine_cache : EngineCache, optional
        Where TensorRT plans are cached (default ``config.home()/engines``).

    Returns
    -------
    Runtime
        Not yet activated; use it as a context manager or call ``activate()``.

    Examples
    --------
    >>> with create_runtime("u2netp.onnx", threads=1) as rt:  # doctest: +SKIP
    ...     out = rt.infer({"input.1": x})
    """
    runtime = _checked(runtime, precision)
    if runtime == "auto":
        runtime = "tensorrt" if manifest is not None and tensorrt_unavailable_reason() is None else "onnxruntime"
    if runtime == "tensorrt":
        reason = tensorrt_unavailable_reason()
        if reason is not None:
            raise BackendUnavailableError(f"runtime 'tensorrt' is not available: {reason}. Use runtime='onnxruntime'.")
        if manifest is None:
            raise InputError("runtime 'tensorrt' needs the model's manifest (manifest=...) to size the engine")
        from .trt import CachedEngine, TensorRTRuntime

        return TensorRTRuntime(CachedEngine(Path(path), manifest, precision=precision, cache=engine_cache))
    if runtime == "onnxruntime-cuda":
        providers = ["CUDAExecutionProvider"]
    if precision == "fp16":
        from .fp16 import convert_to_bytes

        # optimization="none": ORT's optimiser would fold the FP16 Casts away on the CPU and
        # hide the rounding this path exists to show.
        return OrtRuntime(convert_to_bytes(Path(path)), threads=threads, providers=providers, optimization="none")
    return OrtRuntime(path, threads=threads, providers=providers)


def load_runtime(
    name_or_manifest,
    path=None,
    *,
    runtime: str = "onnxruntime",
    precision: Optional[str] = None,
    threads: Optional[int] = None,
    download: bool = True,
    progress: bool = True,
) -> Runtime:
    """Resolve a model's file, create its runtime, activate it and check the graph against the
    manifest: the one call a pipeline needs.

    Parameters
    ----------
    name_or_manifest : str or ModelManifest
        A built-in name (``"u2netp"``) or a manifest (e.g. :func:`alphacut.models.custom_manifest`).
    path : path-like, optional
        An explicit model file (see :func:`alphacut.models.resolve_model`).
    runtime, precision, threads
        As for :func:`create_runtime`.
    download, progress
        As for :func:`alphacut.models.resolve_model`.

    Returns
    -------
    Runtime
        Active, with ``runtime.manifest`` set.

    Raises
    ------
    ModelError
        The file is missing, corrupt, or not the network the manifest describes (one message
        listing every mismatch). The runtime is deactivated first.

    Examples
    --------
    >>> rt = load_runtime("u2netp")                 # doctest: +SKIP
    >>> rt.input_names                              # doctest: +SKIP
    ['input.1']
    """
    from ..models import ModelManifest, get_manifest, resolve_model

    runtime = _checked(runtime, precision)
    manifest = name_or_manifest if isinstance(name_or_manifest, ModelManifest) else get_manifest(name_or_manifest)
    if path is None and Path(manifest.file).is_absolute():  # custom manifests carry their path
        path = manifest.file
    file = resolve_model(manifest, path, download=download, progress=progress)
    return open_runtime(file, manifest, runtime=runtime, precision=precision, threads=threads)


def open_runtime(
    file, manifest, *, runtime: str = "onnxruntime", precision: Optional[str] = None, threads: Optional[int] = None
) -> Runtime:
    """:func:`load_runtime` for a file already resolved (and verified) by
    :func:`alphacut.models.resolve_model`: create the runtime, activate it and check the graph
    against ``manifest`` (deactivated again when the check fails)."""
    from ..models import check_io

    rt = create_runtime(file, runtime=runtime, precision=precision, manifest=manifest, threads=threads)
    rt.activate()
    try:
        check_io(manifest, rt.input_metadata(), rt.output_metadata(), source=str(file))
    except BaseException:
        rt.deactivate()
        raise
    rt.manifest = manifest
    return rt
