"""alphacut's own API: :class:`Session`, a loaded model and the cutout pipeline around it, on
NumPy arrays (or anything :func:`alphacut.image.decode_image` reads).

Network runtimes are created once per (model file, runtime, precision, threads) and shared, in
a registry behind a lock, so many sessions (or server threads) use one loaded model.
:func:`cached_session` keeps whole sessions the same way (rembg's ``new_session`` is built on it).
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import config, heap, image
from .errors import Error, InputError, ModelError
from .models import get_manifest, resolve_model
from .models.manifest import ModelManifest
from .pipeline import CutoutResult, Pipeline, get_mode
from .pipeline.memory import check_memory
from .pipeline.modes import PERSON_MODELS
from .pipeline.stages import alpha_to_u8
from .runtime import open_runtime

__all__ = ["DEFAULT_MODEL", "Session", "cached_session", "clear_sessions"]

DEFAULT_MODEL = "u2netp"

#: Values of the old ``backend=`` keyword that named the network runtime (now ``runtime=``).
_RUNTIME_NAMES = ("onnxruntime", "onnxruntime-cuda", "tensorrt")

_RUNTIMES: Dict[Tuple[str, str, Optional[str], Optional[int]], Any] = {}
_RUNTIMES_LOCK = threading.Lock()
_SESSIONS: Dict[Tuple, Session] = {}
_SESSIONS_LOCK = threading.Lock()
_PERSON_FAILED: set = set()  # person models whose fetch failed in this process (not retried)
_WARNED: set = set()  # what was already warned about (the person-model fallback: once per model and path)


def _warn_once(key, msg: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(msg, stacklevel=4)


def _load_runtime(path, runtime: str, precision: Optional[str], threads: Optional[int], manifest: ModelManifest):
    """A new, active runtime for the model file (already resolved and verified by
    :func:`~alphacut.models.resolve_model`), its graph checked against the manifest."""
    return open_runtime(path, manifest, runtime=runtime, precision=precision, threads=threads)


def _runtime_for(path, runtime: str, precision: Optional[str], threads: Optional[int], manifest: ModelManifest):
    key = (str(Path(path).resolve()), runtime, precision, threads)
    with _RUNTIMES_LOCK:
        r = _RUNTIMES.get(key)
        if r is None:
            r = _load_runtime(path, runtime, precision, threads, manifest)
            _RUNTIMES[key] = r
        return r


def clear_sessions() -> None:
    """Forget the cached runtimes and sessions (their models are freed when unreferenced)."""
    with _RUNTIMES_LOCK:
        _RUNTIMES.clear()
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


def cached_session(model: str = DEFAULT_MODEL, **kwargs) -> Session:
    """A :class:`Session` for ``model`` and ``kwargs``, created once and reused."""
    key = (model, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    with _SESSIONS_LOCK:
        s = _SESSIONS.get(key)
        if s is None:
            s = Session(model, **kwargs)
            _SESSIONS[key] = s
        return s


def _manifest(model) -> ModelManifest:
    if isinstance(model, ModelManifest):
        return model
    if not isinstance(model, str) or not model:
        raise InputError(f"model must be a model name or a ModelManifest, got {model!r}")
    return get_manifest(model)  # unknown names: ModelError listing the known ones


def _deprecated_keywords(runtime: str, backend: str, ops_backend: Optional[str]) -> Tuple[str, str]:
    """(runtime, backend) from the keywords of the release before ``runtime=`` existed, where
    ``backend=`` named the network engine and ``ops_backend=`` the kernels' device."""
    if backend in _RUNTIME_NAMES:
        warnings.warn(
            f"Session(backend={backend!r}) names the network runtime: use runtime={backend!r} "
            "(backend= now says where the kernels run: cpu, cuda, emu, auto)",
            DeprecationWarning,
            stacklevel=3,
        )
        runtime, backend = backend, "cpu"
    if ops_backend is not None:
        warnings.warn(
            f"Session(ops_backend={ops_backend!r}) is now Session(backend={ops_backend!r})",
            DeprecationWarning,
            stacklevel=3,
        )
        backend = ops_backend
    return runtime, backend


def _check_memory(height: int, width: int) -> None:
    check_memory(height, width, "image")


@contextlib.contextmanager
def _limit_hint():
    """Name the session's pixel limit in a refusal (the memory check words its own)."""
    try:
        yield
    except image.ImageTooLargeError as exc:
        msg = str(exc)
        if "above the limit of" not in msg:
            raise
        raise image.ImageTooLargeError(
            f"{msg} (Session(max_pixels=...), ALPHACUT_SESSION_MAX_PIXELS and ALPHACUT_MAX_PIXELS set it)"
        ) from None


def decode_for_cut(src, max_pixels: Optional[int] = None) -> image.DecodedImage:
    """:func:`alphacut.image.decode_image` with the limits of a cut, checked from the header before
    decoding: ``max_pixels`` (default: the smaller of ``ALPHACUT_SESSION_MAX_PIXELS`` and
    ``ALPHACUT_MAX_PIXELS``) and the memory the cut needs
    (:func:`alphacut.pipeline.memory.check_memory`)."""
    limit = _pixel_limit(max_pixels)
    if isinstance(src, np.ndarray) and src.ndim >= 2 and src.shape[0] and src.shape[1]:
        _check_size(src.shape[0], src.shape[1], limit)
    with _limit_hint():
        return image.decode_image(src, max_pixels=limit, check=_check_memory)


def _check_size(height: int, width: int, max_pixels: int) -> None:
    """The limits of a cut for an image of known size: ``max_pixels``, then the memory it needs."""
    with _limit_hint():
        image.check_pixels(height, width, "image", max_pixels)
    _check_memory(height, width)


def _first_reason(exc: Exception) -> str:
    """The line of an error that says why: a fetch error's first source and its reason (the
    headline alone, "could not fetch ... from any source:", says nothing)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return lines[1]
    return lines[0] if lines else type(exc).__name__


def _pixel_limit(value) -> int:
    if value is None:  # read at each call: the environment may change
        return min(config.session_max_pixels(), config.max_pixels())
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"max_pixels must be a positive integer, got {value!r}")
    return int(value)


class Session:
    """A loaded model and the cutout pipeline around it.

    Parameters
    ----------
    model : str or ModelManifest, optional
        A model name (see ``alphacut models list``) or a manifest. Default ``"u2netp"``; in
        ``mode="portrait"`` a person segmenter is used instead when one can be had
        (``info["model"]`` says which ran).
    mode : {"general", "product", "portrait"}, default "general"
        Trimap, matting and upscaling settings (see :mod:`alphacut.pipeline.modes`).
    route : bool, optional
        Run a person segmenter beside the segmenter and use its probability for the images where
        the segmenter misses most of a person (:mod:`alphacut.pipeline.route`; the decision and
        its signals in ``CutoutResult.info["route"]``, its cost in the ``segment_person`` and
        ``route`` timings). Default (None): on in ``general`` mode when no model is named (the
        default u2netp, the pair the rule was measured on); True turns it on for a named model.
        When no person model can be had, the session uses the segmenter alone and warns once.
    person_model, person_model_path : optional
        The person segmenter for ``route`` and ``portrait`` mode (default ``"mediapipe-selfie"``,
        fetched and converted from the MediaPipe wheel when missing and ``download`` allows) and
        its file. ``ALPHACUT_PERSON_MODEL`` gives a default file, or ``none`` to turn routing off.
    runtime : str, default "onnxruntime"
        The network engine: "onnxruntime", "onnxruntime-cuda" (ONNX Runtime's CUDA provider),
        "tensorrt", "auto" (see :mod:`alphacut.runtime`).
    precision : {"fp32", "fp16"}, optional
        None: the runtime's default, FP16 for TensorRT (the model's engine build spec), FP32 for
        ONNX Runtime.
    backend : {"cpu", "cuda", "auto", "emu"}, default "cpu"
        Where the native post-processing runs: ``"cuda"`` keeps it on the GPU after the network
        (one upload of the image, one download of the cutout); ``"auto"`` picks cuda when a
        device can be used. See :class:`alphacut.pipeline.Pipeline`.
    model_path : path, optional
        Use this file for ``model`` instead of looking it up / downloading it.
    matting_model, matting_model_path : optional
        A trimap-based matting network (manifest name or manifest, and its file) run on
        full-resolution tiles over the unknown band instead of the native solve.
    threads : int, optional
        Intra-op threads for the network.
    refine : bool, default True
        Solve α in the unknown band and upscale it guided by the image (False: the plain mask).
    foreground : bool, default True
        Estimate the foreground colour on soft edges (no halo of the old background).
    rembg_compat : bool, default False
        Reproduce rembg's exact mask numbers (its quirks; see :mod:`alphacut.compat.rembg`).
    download : bool, default True
        Allow fetching a missing model.
    tile : int, optional
        Tile side for a matting network.
    ops_backend : deprecated
        The old name of ``backend`` (and ``backend="onnxruntime"/"tensorrt"`` the old spelling
        of ``runtime``); both still work, with a DeprecationWarning, until the next release.
    max_pixels : int, optional
        The largest image this session cuts (default ``ALPHACUT_SESSION_MAX_PIXELS``, 100 MP, or
        ``ALPHACUT_MAX_PIXELS`` where that is lower),
        checked from the header before decoding, together with the memory the cut would need
        against the memory available (:mod:`alphacut.pipeline.memory`): an image above either is
        refused with :class:`~alphacut.image.ImageTooLargeError` before a pixel is decoded.
    mode_overrides : keyword arguments replacing fields of the mode's settings
        (``fg_threshold``, ``bg_threshold``, ``band``, ``prior_weight``, ``work_pixels``, ...).

    Examples
    --------
    >>> s = Session("u2netp", model_path="u2netp.onnx")          # doctest: +SKIP
    >>> rgba = s.cutout(rgb)                                      # doctest: +SKIP
    >>> s.last_timings                                            # doctest: +SKIP
    {'preprocess': 3.1, 'segment': 180.2, 'resize': 4.0, 'trimap': 1.2, ...}
    """

    def __init__(
        self,
        model: Union[str, ModelManifest, None] = None,
        mode: str = "general",
        runtime: str = "onnxruntime",
        precision: Optional[str] = None,
        *,
        backend: str = "cpu",
        model_path=None,
        matting_model: Union[str, ModelManifest, None] = None,
        matting_model_path=None,
        threads: Optional[int] = None,
        refine: bool = True,
        foreground: bool = True,
        rembg_compat: bool = False,
        download: bool = True,
        tile: Optional[int] = None,
        ops_backend: Optional[str] = None,
        route: Optional[bool] = None,
        person_model: Union[str, ModelManifest, None] = None,
        person_model_path=None,
        max_pixels: Optional[int] = None,
        **mode_overrides,
    ) -> None:
        runtime, backend = _deprecated_keywords(runtime, backend, ops_backend)
        heap.apply_setting()  # ALPHACUT_HEAP=retain: see alphacut.heap
        self._max_pixels = None if max_pixels is None else _pixel_limit(max_pixels)
        self.mode = get_mode(mode, **mode_overrides)
        self.runtime_name = runtime
        self.precision = precision
        self.threads = threads
        self.info: Dict[str, Any] = {}
        self._person = (person_model, person_model_path, download)
        manifest, path = self._pick_model(model, model_path, download)
        self.manifest = manifest
        self.model_path = path
        self.model_name = manifest.name
        self.runtime = _runtime_for(path, runtime, precision, threads, manifest)
        # (pipeline attribute, model file, manifest) of each runtime: the batch workers' own copies
        self._runtime_files: List[Tuple[str, Any, ModelManifest]] = [("runtime", path, manifest)]
        self._worker_pipelines: Dict[int, Pipeline] = {}
        m_manifest = m_runtime = None
        if matting_model is not None or matting_model_path is not None:
            if matting_model is None:
                raise InputError("matting_model_path needs matting_model (a manifest name or a ModelManifest)")
            m_manifest = _manifest(matting_model)
            if m_manifest.kind != "matting":
                raise ModelError(f"{m_manifest.name!r} is a {m_manifest.kind}, not a matting network")
            m_path = resolve_model(m_manifest, matting_model_path, download=download)
            m_runtime = _runtime_for(m_path, runtime, precision, threads, m_manifest)
            self._runtime_files.append(("matting_runtime", m_path, m_manifest))
        p_manifest = p_runtime = None
        if route is None:
            route = self.mode.route and model is None and model_path is None and not rembg_compat
        if route and manifest.kind == "segmenter" and manifest.name not in PERSON_MODELS:
            found = self._person_model()
            if found is not None and found[0].name != manifest.name:
                p_manifest, p_path = found
                p_runtime = _runtime_for(p_path, runtime, precision, threads, p_manifest)
                self._runtime_files.append(("person_runtime", p_path, p_manifest))
                if not self.mode.route:
                    self.mode = replace(self.mode, route=True)
            else:
                self.info["route"] = {
                    "model": manifest.name,
                    "choice": "general",
                    "reason": "no person segmenter available: the segmenter alone",
                }
        self.route = p_runtime is not None
        self.pipeline = Pipeline(
            manifest,
            self.runtime,
            self.mode,
            refine=refine,
            foreground=foreground,
            matting_manifest=m_manifest,
            matting_runtime=m_runtime,
            rembg_compat=rembg_compat,
            tile=tile,
            backend=backend,
            person_manifest=p_manifest,
            person_runtime=p_runtime,
        )
        self.rembg_compat = bool(rembg_compat)
        self.last_timings: Dict[str, float] = {}
        # The last call's result; cleared when the next call starts (so not kept through it).
        self.last_result: Optional[CutoutResult] = None

    @property
    def backend(self) -> str:
        """Where the post-processing runs ("cpu", "cuda" or "emu")."""
        return self.pipeline.backend

    def _person_model(self) -> Optional[Tuple[ModelManifest, Path]]:
        """(manifest, file) of the person segmenter, or None (warned once per reason)."""
        model, path, download = self._person
        env = config.person_model_env()
        if path is None and env:
            if env.lower() == "none":
                return None
            path = env
        names = [model] if model is not None else list(PERSON_MODELS)
        why = []
        for name in names:
            m = None
            try:
                m = _manifest(name)
                fetch = download and path is None and m.name not in _PERSON_FAILED
                try:
                    return m, resolve_model(m, path, download=fetch)
                except Error:
                    if fetch:
                        _PERSON_FAILED.add(m.name)
                    raise
            except Error as exc:
                why.append(f"{m.name if m else name}: {_first_reason(exc)}")
        _warn_once(
            ("person", tuple(str(n) for n in names), str(path)),
            "no person segmenter (" + "; ".join(why) + "): the segmenter runs alone. "
            "`alphacut models fetch mediapipe-selfie` gets one",
        )
        return None

    def _pick_model(self, model, model_path, download):
        if model is None and model_path is None and self.mode.person_model:
            found = self._person_model()
            self.info["routed_to_person_model"] = found[0].name if found else None
            if found is not None:
                return found
        manifest = _manifest(model if model is not None else DEFAULT_MODEL)
        return manifest, resolve_model(manifest, model_path, download=download)

    # ------------------------------------------------------------------------------------------
    @property
    def max_pixels(self) -> int:
        """The largest image this session cuts (``max_pixels=``, else the smaller of
        ``ALPHACUT_SESSION_MAX_PIXELS`` and ``ALPHACUT_MAX_PIXELS``, read at each call)."""
        return _pixel_limit(self._max_pixels)

    def decode(self, src) -> image.DecodedImage:
        """Decode ``src`` (anything :func:`alphacut.image.decode_image` reads) with this session's
        limits: ``max_pixels`` and the memory check, both from the header, before decoding."""
        return decode_for_cut(src, self.max_pixels)

    def _decode(self, src) -> Tuple[np.ndarray, Dict[str, float]]:
        if isinstance(src, np.ndarray) and src.ndim == 3 and src.shape[2] == 3 and src.dtype == np.uint8:
            if src.shape[0] == 0 or src.shape[1] == 0:
                raise InputError(f"image: the image is empty (shape {src.shape})")
            _check_size(src.shape[0], src.shape[1], self.max_pixels)
            return src, {}
        t0 = time.perf_counter()
        d = self.decode(src)
        return d.rgb, {"decode": (time.perf_counter() - t0) * 1000.0}

    def run(
        self, image, *, rgba: bool = True, refine: Optional[bool] = None, foreground: Optional[bool] = None, mode=None
    ) -> CutoutResult:
        """The full :class:`~alphacut.pipeline.CutoutResult` (alpha, rgba, timings, ...) of one image
        (an (H, W, 3) uint8 array, or anything :func:`alphacut.image.decode_image` reads).
        ``mode`` (a name or :class:`~alphacut.pipeline.ModeSettings`) replaces the session's mode
        settings for this call."""
        # The previous result goes first: kept through this run, its full-size arrays (alpha,
        # RGBA, foreground pieces: ~140 MiB at 12 MP) would add to this run's peak.
        self.last_result = None
        rgb, t = self._decode(image)
        pipe = self.pipeline if mode is None else self.pipeline.with_mode(mode)
        res = pipe.run(rgb, rgba=rgba, refine=refine, foreground=foreground, timings=t)
        res.info.update(self.info)
        self.last_timings = res.timings
        self.last_result = res
        return res

    def run_batch(
        self,
        images,
        *,
        rgba: bool = True,
        refine: Optional[bool] = None,
        foreground: Optional[bool] = None,
        mode=None,
        return_exceptions: bool = False,
        workers: Optional[int] = None,
    ) -> List[Any]:
        """:meth:`run` on several images, for throughput.

        On the CPU with ONNX Runtime, the images run side by side on ``workers`` threads, each
        image's stages (network included) on its share of the cores: the stages that use fewer
        cores than there are (decoding, parts of the post-processing, Python between the stages)
        then leave none idle. Each worker has its own ONNX Runtime session of the models with
        that many threads (created on first use and kept: one more copy of the network's buffers
        per worker). Otherwise (``workers=1``, a GPU runtime or backend) the images share one
        network call where the model's batch dimension is dynamic (one call per image where it is
        fixed at 1, as for u2netp), and every other stage runs per image, exactly as :meth:`run`
        does. The results are the same either way, up to the network's float rounding with
        another thread count.

        Parameters
        ----------
        images : sequence of images (arrays, bytes, paths, ...; sizes may differ)
        rgba, refine, foreground, mode : as for :meth:`run`, for every image
        return_exceptions : bool, default False
            True: an image that cannot be decoded or processed gets its exception in its place
            of the list and the others go on; False: the first error is raised.
        workers : int, optional
            Images processed side by side; default: one per thread the session may use (at most
            one per image) where that applies (see above) and the model's batch dimension is
            fixed, else 1 (a dynamic batch dimension: the stacked network call).

        Returns
        -------
        list of CutoutResult (``info["batch_size"]``: how many images shared the network call)

        Examples
        --------
        >>> results = session.run_batch([rgb_a, rgb_b])       # doctest: +SKIP
        >>> [r.info["batch_size"] for r in results]            # doctest: +SKIP
        [2, 2]
        """
        from .pipeline.pipeline import BatchItem, run_batch

        self.last_result = None  # as in run: not kept through this call
        n_workers = self._batch_workers(len(images), workers)
        if n_workers > 1:
            return self._run_side_by_side(images, n_workers, rgba, refine, foreground, mode, return_exceptions)
        pipe = self.pipeline if mode is None else self.pipeline.with_mode(mode)
        out: List[Any] = [None] * len(images)
        items, where = [], []
        for i, src in enumerate(images):
            try:
                rgb, t = self._decode(src)
            except Exception as exc:  # noqa: BLE001 - handed back in the image's place, or raised
                if not return_exceptions:
                    raise
                out[i] = exc
                continue
            items.append(BatchItem(pipe, rgb, rgba=rgba, refine=refine, foreground=foreground, timings=t))
            where.append(i)
        for i, res in zip(where, run_batch(items, return_exceptions=return_exceptions)):
            if isinstance(res, CutoutResult):
                res.info.update(self.info)
                self.last_timings = res.timings
                self.last_result = res
            out[i] = res
        return out

    def _batch_workers(self, n_images: int, workers: Optional[int]) -> int:
        """How many images run side by side (1: the batched network call)."""
        if workers is not None:
            if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
                raise InputError(f"workers must be a positive integer, got {workers!r}")
        if self.runtime_name != "onnxruntime" or self.pipeline.backend != "cpu":
            return 1
        if workers is None:
            from .pipeline.pipeline import batch_limit

            # A dynamic batch dimension: one stacked network call (the batched path) by default.
            name = self.manifest.input.name or self.runtime.input_names[0]
            workers = 1 if batch_limit(self.runtime, name) > 1 else self._thread_budget()
        return max(1, min(workers, n_images))

    def _thread_budget(self) -> int:
        """The threads a call may use: the session's ``threads``, else the CPU ops' count."""
        from . import ops

        return max(1, int(self.threads or ops.get_num_threads()))

    def _worker_pipeline(self, threads: int) -> Pipeline:
        """The session's pipeline with runtimes of ``threads`` threads each (made once)."""
        with _RUNTIMES_LOCK:
            pipe = self._worker_pipelines.get(threads)
        if pipe is None:
            pipe = copy.copy(self.pipeline)
            for attr, path, manifest in self._runtime_files:
                setattr(pipe, attr, _runtime_for(path, self.runtime_name, self.precision, threads, manifest))
            with _RUNTIMES_LOCK:
                pipe = self._worker_pipelines.setdefault(threads, pipe)
        return pipe

    def _run_side_by_side(self, images, n_workers, rgba, refine, foreground, mode, return_exceptions) -> List[Any]:
        from concurrent.futures import ThreadPoolExecutor

        from . import ops
        from .pipeline.pipeline import BatchItem, run_batch

        share = max(1, self._thread_budget() // n_workers)
        pipe = self._worker_pipeline(share)
        if mode is not None:
            pipe = pipe.with_mode(mode)

        def one(src):
            with ops.thread_limit(share):
                rgb, t = self._decode(src)
                item = BatchItem(pipe, rgb, rgba=rgba, refine=refine, foreground=foreground, timings=t)
                res = run_batch([item])[0]
            res.info.update(self.info)
            res.info["workers"] = n_workers
            return res

        runtimes = [r for r in (getattr(pipe, attr, None) for attr, _, _ in self._runtime_files) if r is not None]
        with (
            contextlib.ExitStack() as overlap,
            ThreadPoolExecutor(n_workers, thread_name_prefix="alphacut-batch") as pool,
        ):
            for r in runtimes:
                overlap.enter_context(r.side_by_side())
            futures = [pool.submit(one, src) for src in images]
            out: List[Any] = []
            for f in futures:
                exc = f.exception()
                if exc is not None and not return_exceptions:
                    for g in futures:
                        g.cancel()
                    raise exc
                out.append(exc if exc is not None else f.result())
        done = [r for r in out if isinstance(r, CutoutResult)]
        if done:
            self.last_timings = done[-1].timings
            self.last_result = done[-1]
        return out

    def predict_alpha(self, image) -> np.ndarray:
        """(H, W) float32 α in [0, 1] at the image's full resolution."""
        return self.run(image, rgba=False, foreground=False).alpha

    def cutout(self, image) -> np.ndarray:
        """(H, W, 4) uint8 RGBA cutout (straight alpha; colour estimated on soft edges)."""
        rgba = self.run(image).rgba
        assert rgba is not None, "run(rgba=True) packs the cutout"
        return rgba

    def predict_mask(self, image) -> np.ndarray:
        """(H, W) uint8 plain mask (no refinement): rembg's exact mask when ``rembg_compat``."""
        return alpha_to_u8(self.run(image, rgba=False, refine=False, foreground=False).alpha)

    def predict(self, img, *args, **kwargs) -> List[Any]:
        """rembg's session interface: a list with one PIL "L" mask."""
        from PIL import Image

        return [Image.fromarray(self.predict_mask(img), "L")]

    def __repr__(self) -> str:
        return (
            f"Session(model={self.model_name!r}, mode={self.mode.name!r}, runtime={self.runtime_name!r}, "
            f"precision={self.precision!r}, backend={self.backend!r})"
        )
