"""The one place that knows the pipeline's API: builds a :class:`~alphacut.bench.harness.Target`
around ``alphacut.Session``. Everything else in :mod:`alphacut.bench` is generic."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from ..errors import BackendUnavailableError, Error, InputError
from .harness import Target
from .inputs import BenchImage

#: ``alphacut bench --backend`` values: the hardware measured, as the ``Session(runtime=...,
#: backend=...)`` each maps to. "cpu": ONNX Runtime's CPU provider and the native CPU ops; "cuda":
#: ONNX Runtime's CUDA provider; "tensorrt": a TensorRT engine for the network. On both GPU
#: targets the post-processing runs on the device (``Session(backend="cuda")``).
BACKENDS = ("cpu", "cuda", "tensorrt")
SESSION_RUNTIME = {"cpu": "onnxruntime", "cuda": "onnxruntime-cuda", "tensorrt": "tensorrt"}


def _session_class():
    try:
        from ..session import Session
    except ImportError as exc:
        raise Error(
            f"alphacut.Session is not available in this build ({exc}); the pipeline is needed to benchmark end to end"
        ) from None
    return Session


def check_backend(backend: str) -> None:
    """Refuse a GPU backend where there is no GPU, before anything is measured: a GPU figure is
    never printed unless it was measured on a GPU."""
    if backend not in BACKENDS:
        raise InputError(f"--backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if backend == "cpu":
        return
    from .machine import gpus

    if not gpus():
        raise BackendUnavailableError(
            f"--backend {backend} needs an NVIDIA GPU, and nvidia-smi lists none here; "
            "run the same command on a machine with a GPU, or use --backend cpu"
        )
    if backend == "tensorrt":
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            raise BackendUnavailableError(
                "--backend tensorrt needs the tensorrt package: pip install 'alphacut[gpu]'"
            ) from None


def _providers(session) -> Optional[list]:
    """Execution providers the session's network really runs on (ONNX Runtime), when visible."""
    runner = getattr(session, "runner", None)
    for obj in (
        runner,
        getattr(runner, "session", None),
        getattr(runner, "sess", None),
        getattr(runner, "_session", None),
        getattr(runner, "_sess", None),
    ):
        get = getattr(obj, "get_providers", None)
        if callable(get):
            try:
                return list(get())
            except Exception:  # noqa: BLE001 - an inactive runner
                return None
    return None


class PipelineTarget(Target):
    """``alphacut.Session(...).run(image)`` end to end: segmentation, trimap, matting of the band,
    upscaling and foreground estimation, as the session's mode sets them.

    ``io="bytes"``: JPEG bytes in, PNG bytes out (decode and encode timed: ``encode`` is
    :func:`alphacut.image.encode_png` at ``compress_level`` 1, what :func:`alphacut.remove` returns).
    ``io="array"``: (H, W, 3) uint8 in, (H, W, 4) uint8 out.
    """

    name = "alphacut"

    def __init__(
        self,
        model: str = "u2netp",
        backend: str = "cpu",
        mode: str = "general",
        io: str = "bytes",
        model_path: Optional[str] = None,
        threads: Optional[int] = None,
        **session_kwargs: Any,
    ) -> None:
        check_backend(backend)
        if io not in ("bytes", "array"):
            raise InputError(f"io must be 'bytes' or 'array', got {io!r}")
        self.model, self.backend, self.mode, self.io = model, backend, mode, io
        Session = _session_class()
        session_kwargs.setdefault("backend", "cpu" if backend == "cpu" else "cuda")
        self.session = Session(
            model, mode=mode, runtime=SESSION_RUNTIME[backend], model_path=model_path, threads=threads, **session_kwargs
        )
        self.model_path = str(getattr(self.session, "model_path", model_path))
        self.threads = threads
        from ..image import encode_png

        self._encode = encode_png

    def prepare(self, image: BenchImage) -> Any:
        return image.jpeg() if self.io == "bytes" else image.rgb

    def run(self, prepared: Any) -> Dict[str, float]:
        import time

        res = self.session.run(prepared)
        timings = dict(res.timings)
        if self.io == "bytes":
            t0 = time.perf_counter()
            self._encode(res.rgba, compress_level=1)
            timings["encode"] = (time.perf_counter() - t0) * 1e3
        return timings

    def run_batch(self, prepared: Sequence[Any]) -> None:
        """``Session.run_batch`` (on the CPU: the images side by side, one worker per thread),
        then the PNG encodes for ``io="bytes"``, encoded side by side too."""
        results = self.session.run_batch(list(prepared))
        if self.io == "bytes":
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max(1, min(len(results), self.session._thread_budget()))) as pool:
                list(pool.map(lambda r: self._encode(r.rgba, compress_level=1), results))

    def describe(self) -> Dict[str, object]:
        d: Dict[str, object] = {
            "name": self.name,
            "model": self.model,
            "backend": self.backend,
            "mode": self.mode,
            "io": self.io,
            "model_path": self.model_path,
        }
        if self.threads is not None:
            d["network_threads"] = self.threads
        prov = _providers(self.session)
        if prov is not None:
            d["providers"] = prov
            if self.backend != "cpu" and all(p == "CPUExecutionProvider" for p in prov):
                raise BackendUnavailableError(
                    f"--backend {self.backend}: the network ran on {prov}, not on the GPU; refusing to "
                    "report these figures as GPU figures"
                )
        return d

    def close(self) -> None:
        self.session = None


def pipeline_target(**kwargs: Any) -> PipelineTarget:
    """Factory for :class:`PipelineTarget` (``"alphacut.bench.adapter:pipeline_target"``)."""
    return PipelineTarget(**kwargs)


FACTORY = "alphacut.bench.adapter:pipeline_target"


# -- rembg-style API (bench/compare_rembg.py) ------------------------------------------------------


def remove_api():
    """``(alphacut.remove, alphacut.new_session)``, or a clear error where the pipeline is absent."""
    try:
        from .. import new_session, remove
    except ImportError as exc:
        raise Error(f"alphacut.remove is not available in this build ({exc}); the pipeline is needed") from None
    return remove, new_session


def accepts_keyword(fn, name: str) -> bool:
    """Whether ``fn`` takes the keyword ``name`` explicitly (not only through ``**kwargs``)."""
    import inspect

    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def alphacut_remover(session, **keywords: Any):
    """``f(data) -> output`` calling ``alphacut.remove(data, session=session, **keywords)``; None when
    ``alphacut.remove`` does not take one of ``keywords`` (the comparison row then says n/a)."""
    remove, _ = remove_api()
    if not all(accepts_keyword(remove, k) for k in keywords):
        return None
    return lambda data: remove(data, session=session, **keywords)


def alphacut_session(model: str = "u2netp", model_path: Optional[str] = None, **kwargs: Any):
    """A rembg-style session (``alphacut.new_session``) for ``alphacut.remove`` on the given model file."""
    _, new_session = remove_api()
    if model_path:
        kwargs["model_path"] = model_path
    return new_session(model, **kwargs)


def alphacut_full_cutout(session):
    """``f(data) -> PNG bytes``: the session's whole pipeline (``Session.run``: band matting,
    upscaling, foreground) and the PNG encode ``remove`` uses. alphacut's default cutout, which
    ``remove()`` without ``alpha_matting`` does not run."""
    from ..image import encode_png

    def f(data):
        return encode_png(session.run(data).rgba, compress_level=1)

    return f
