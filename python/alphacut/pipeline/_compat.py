"""Where the pipeline meets :mod:`alphacut.models` and :mod:`alphacut.backends`.

The pipeline asks for a manifest by name (``get_manifest``), a model file (``resolve_model``) and
a runner (``create_runner``). Those live in the models/backends packages; this module calls them
and, where this build does not provide them, falls back to a minimal built-in equivalent (the
u2netp and person-segmenter facts, and an ONNX Runtime session built directly), so the pipeline
runs either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from .. import config
from ..errors import BackendUnavailableError, ModelError
from ..models.manifest import IMAGENET_MEAN, IMAGENET_STD, InputSpec, ModelManifest, OutputSpec

# Minimal facts used only when alphacut.models.get_manifest is not available in this build.
_BUILTIN: Dict[str, ModelManifest] = {
    "u2netp": ModelManifest(
        name="u2netp",
        kind="segmenter",
        file="u2netp.onnx",
        task="general salient object (U2-Net-p)",
        md5="8e83ca70e441ab06c318d82300c84806",
        input=InputSpec(name="input.1", size=(320, 320), mean=IMAGENET_MEAN, std=IMAGENET_STD),
        output=OutputSpec(channel=0, activation="none"),
    ),
    "mediapipe_selfie": ModelManifest(
        name="mediapipe_selfie",
        kind="segmenter",
        file="mediapipe_selfie_segmentation_256x256.onnx",
        task="person / selfie segmentation (MediaPipe)",
        input=InputSpec(name="input", size=(256, 256)),
        output=OutputSpec(channel=0, activation="none"),
    ),
}

# Names a person segmenter may have in the model registry, best first (QUALITY_NOTES: the
# MediaPipe selfie model beats u2netp on portraits).
PERSON_MODELS: Tuple[str, ...] = (
    "mediapipe-selfie",
    "mediapipe_selfie",
    "mediapipe_selfie_segmentation",
    "mediapipe-selfie",
    "selfie",
)


def get_manifest(name: str) -> ModelManifest:
    try:
        from ..models import get_manifest as _get
    except ImportError:
        _get = None
    if _get is not None:
        return _get(name)
    if name in _BUILTIN:
        return _BUILTIN[name]
    raise ModelError(f"unknown model {name!r}; known here: {', '.join(sorted(_BUILTIN))}")


def custom_manifest(path, **kwargs) -> ModelManifest:
    try:
        from ..models import custom_manifest as _custom
    except ImportError:
        _custom = None
    if _custom is not None:
        return _custom(path, **kwargs)
    kind = kwargs.pop("kind", "segmenter")
    return ModelManifest(name=Path(path).stem, kind=kind, file=Path(path).name,
                         input=kwargs.pop("input", InputSpec()), output=kwargs.pop("output", OutputSpec()))


def resolve_model(manifest: ModelManifest, path=None, *, download: bool = True) -> Path:
    try:
        from ..models import resolve_model as _resolve
    except ImportError:
        _resolve = None
    if _resolve is not None:
        return Path(_resolve(manifest, path, download=download))
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"model file {p} does not exist")
        return p
    candidates: List[Path] = [config.home() / "models" / manifest.file]
    for d in config.rembg_model_dirs():
        candidates.append(d / manifest.name / f"{manifest.name}.onnx")
        candidates.append(d / manifest.file)
        candidates.append(d / f"{manifest.name}.onnx")
    for c in candidates:
        if c.is_file():
            return c
    raise ModelError(
        f"model {manifest.name!r} ({manifest.file}) was not found in "
        f"{', '.join(str(c.parent) for c in candidates)}; pass model_path=... or fetch it with "
        f"`alphacut models fetch {manifest.name}`"
    )


class _OrtRunner:
    """A minimal ONNX Runtime runner with the backends' Runner interface (infer/input_names)."""

    name = "onnxruntime"

    def __init__(self, path, threads: Optional[int] = None):
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a hard dependency
            raise BackendUnavailableError(f"onnxruntime is not installed ({exc})") from None
        so = ort.SessionOptions()
        so.log_severity_level = 3
        if threads:
            so.intra_op_num_threads = int(threads)
        try:
            self._sess = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT raises its own types for bad files
            raise ModelError(f"{path}: ONNX Runtime cannot load this model ({exc})") from None
        self._inputs = self._sess.get_inputs()
        self._outputs = self._sess.get_outputs()

    @property
    def input_names(self) -> List[str]:
        return [i.name for i in self._inputs]

    @property
    def output_names(self) -> List[str]:
        return [o.name for o in self._outputs]

    def input_metadata(self):
        return [(i.name, tuple(d if isinstance(d, int) else None for d in i.shape), np.float32) for i in self._inputs]

    def infer(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        outs = self._sess.run(None, feeds)
        return dict(zip(self.output_names, outs))


def create_runner(path, backend: str = "onnxruntime", precision: str = "fp32", threads: Optional[int] = None,
                  manifest: Optional[ModelManifest] = None):
    """A runner for ``path``; when the backends package can check a graph against its manifest
    (``alphacut.models.check_io``), a model that is not what the manifest says is refused here."""
    try:
        from ..backends import create_runner as _create
    except ImportError:
        _create = None
    if _create is not None:
        kw = {"manifest": manifest} if manifest is not None else {}
        runner = _create(path, backend=backend, precision=precision, threads=threads, **kw)
        try:
            from ..models import check_io
        except ImportError:
            check_io = None
        if check_io is not None and manifest is not None:
            runner.activate()
            check_io(manifest, runner.input_metadata(), runner.output_metadata(), source=str(path))
        return runner
    if backend not in ("onnxruntime", "auto"):
        raise BackendUnavailableError(f"backend {backend!r} is not available in this build (only onnxruntime)")
    if precision != "fp32":
        raise BackendUnavailableError(f"precision {precision!r} is not available in this build (only fp32)")
    return _OrtRunner(path, threads)


def input_shape(runner, name: str) -> Optional[Tuple[Optional[int], ...]]:
    """The graph's declared shape of input ``name`` (None for dynamic dims), when the runner says."""
    meta = getattr(runner, "input_metadata", None)
    if meta is None:
        return None
    try:
        for n, shape, _ in meta():
            if n == name:
                return tuple(shape)
    except Exception:  # noqa: BLE001 - metadata is a hint only
        return None
    return None


def is_placeholder(op) -> bool:
    """True when ``op`` is a not-yet-built placeholder in this build of alphacut.ops."""
    return "Placeholder" in (getattr(__import__(op.__module__, fromlist=["_"]), "__doc__", "") or "")


def as_path(x: Union[str, os.PathLike, None]) -> Optional[Path]:
    return None if x is None else Path(x)
