"""The one place that knows the pipeline's API: builds a :class:`~alphacut.bench.harness.Target`
around ``alphacut.Session``. Everything else in :mod:`alphacut.bench` is generic."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ..errors import BackendUnavailableError, Error, InputError
from .harness import Target
from .inputs import BenchImage

#: ``--backend`` values and what they need
BACKENDS = ("cpu", "cuda", "tensorrt")


def _session_class():
    try:
        from ..api import Session  # type: ignore[attr-defined]
    except ImportError as exc:
        raise Error(f"alphacut.Session is not available in this build ({exc}); the pipeline is needed "
                    "to benchmark end to end") from None
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
            "run the same command on a machine with a GPU, or use --backend cpu")
    if backend == "tensorrt":
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            raise BackendUnavailableError("--backend tensorrt needs the tensorrt package: "
                                          "pip install 'alphacut[gpu]'") from None


class PipelineTarget(Target):
    """``alphacut.Session(...)`` end to end.

    ``io="bytes"``: JPEG bytes in, PNG bytes out (decode and encode included, as a user calling
    ``remove`` on a file sees it). ``io="array"``: RGB array in, RGBA array out.
    """

    name = "alphacut"

    def __init__(self, model: str = "u2netp", backend: str = "cpu", mode: str = "general", io: str = "bytes",
                 model_path: Optional[str] = None, **session_kwargs: Any) -> None:
        check_backend(backend)
        if io not in ("bytes", "array"):
            raise InputError(f"io must be 'bytes' or 'array', got {io!r}")
        self.model, self.backend, self.mode, self.io = model, backend, mode, io
        self.model_path = model_path
        Session = _session_class()
        kwargs: Dict[str, Any] = dict(session_kwargs)
        if model_path:
            kwargs["model_path"] = model_path
        self.session = Session(model=model, mode=mode, backend=backend, **kwargs)

    def prepare(self, image: BenchImage) -> Any:
        return image.jpeg() if self.io == "bytes" else image.rgb

    def run(self, prepared: Any) -> Dict[str, float]:
        out = self.session.cutout(prepared)
        return dict(getattr(out, "timings", None) or getattr(self.session, "last_timings", None) or {})

    def describe(self) -> Dict[str, object]:
        d: Dict[str, object] = {"name": self.name, "model": self.model, "backend": self.backend,
                                "mode": self.mode, "io": self.io}
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
        from ..api import new_session, remove  # type: ignore[attr-defined]
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


def alphacut_session(model: str = "u2netp", model_path: Optional[str] = None):
    """A rembg-style session for ``alphacut.remove`` on the given model file."""
    _, new_session = remove_api()
    if model_path and accepts_keyword(new_session, "model_path"):
        return new_session(model, model_path=model_path)
    return new_session(model)
