"""Where the pipeline meets :mod:`alphacut.models` and :mod:`alphacut.backends`: one place for
the manifest lookup, the model file resolution and the runner factory the pipeline uses."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

from ..models import check_io, get_manifest, resolve_model
from ..models.manifest import ModelManifest

__all__ = ["PERSON_MODELS", "create_runner", "get_manifest", "resolve_model"]

# Person segmenters the ``portrait`` mode routes to when one is available locally, best first
# (QUALITY_NOTES: the MediaPipe selfie model beats u2netp on portraits).
PERSON_MODELS: Tuple[str, ...] = ("mediapipe-selfie", "mediapipe-selfie-landscape")


def create_runner(path, backend: str = "onnxruntime", precision: str = "fp32", threads: Optional[int] = None,
                  manifest: Optional[ModelManifest] = None):
    """A runner for the ONNX file ``path``; with a ``manifest`` the graph is checked against it
    (``alphacut.models.check_io``), so a file that is not what the manifest says is refused here
    with one :class:`alphacut.ModelError`."""
    from ..backends import create_runner as _create

    kw = {"manifest": manifest} if manifest is not None else {}
    runner = _create(Path(path), backend=backend, precision=precision, threads=threads, **kw)
    if manifest is not None:
        runner.activate()
        check_io(manifest, runner.input_metadata(), runner.output_metadata(), source=str(path))
    return runner
