"""The public API: :class:`Session` (alphacut's own, on NumPy arrays), and rembg's one-call
:func:`remove` and :func:`new_session` with rembg's keywords, defaults and return types.

Network runners are created once per (model file, backend, precision, threads) and reused, in a
registry behind a lock, so many sessions (or server threads) share one loaded model.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import io as aio
from .errors import Error, InputError, ModelError
from .models.manifest import ModelManifest
from .pipeline import CutoutResult, Pipeline, get_mode
from .models import get_manifest, resolve_model
from .pipeline.modes import PERSON_MODELS
from .runtime import load_runtime
from .pipeline.stages import _pack, alpha_to_u8, compose_rgba, foreground as _foreground

__all__ = ["Session", "new_session", "remove", "clear_sessions"]

DEFAULT_MODEL = "u2netp"

_RUNNERS: Dict[Tuple[str, str, str, Optional[int]], Any] = {}
_RUNNERS_LOCK = threading.Lock()
_SESSIONS: Dict[Tuple, "Session"] = {}
_SESSIONS_LOCK = threading.Lock()


def _runner_for(path: Path, backend: str, precision: str, threads: Optional[int],
                manifest: Optional[ModelManifest] = None):
    key = (str(Path(path).resolve()), backend, precision, threads)
    with _RUNNERS_LOCK:
        r = _RUNNERS.get(key)
        if r is None:
            r = load_runtime(manifest, path, runtime=backend, precision=precision, threads=threads, download=False)
            _RUNNERS[key] = r
        return r


def clear_sessions() -> None:
    """Forget the cached runners and sessions (their models are freed when unreferenced)."""
    with _RUNNERS_LOCK:
        _RUNNERS.clear()
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


def _manifest(model) -> ModelManifest:
    if isinstance(model, ModelManifest):
        return model
    if not isinstance(model, str) or not model:
        raise InputError(f"model must be a model name or a ModelManifest, got {model!r}")
    return get_manifest(model)  # unknown names: ModelError listing the known ones


class Session:
    """A loaded model and the cutout pipeline around it.

    Parameters
    ----------
    model : str or ModelManifest, optional
        A model name (see ``alphacut models list``) or a manifest. Default ``"u2netp"``; in
        ``mode="portrait"`` a person segmenter is used instead when one can be found locally
        (``info["model"]`` says which ran).
    mode : {"general", "product", "portrait"}, default "general"
        Trimap, matting and upscaling settings (see :mod:`alphacut.pipeline.modes`).
    backend : str, default "onnxruntime"
        Network backend ("onnxruntime", "cuda" (ONNX Runtime's CUDA provider), "tensorrt", "auto").
    precision : {"fp32", "fp16"}, default "fp32"
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
        Reproduce rembg's exact mask numbers (its quirks; see :mod:`alphacut.pipeline.preprocess`).
    download : bool, default True
        Allow fetching a missing model.
    ops_backend : {"cpu", "cuda", "auto", "emu"}, default "cpu"
        Where the native post-processing runs: ``"cuda"`` keeps it on the GPU after the network
        (one upload of the image, one download of the cutout); ``"auto"`` picks cuda when a
        device can be used. See :class:`alphacut.pipeline.Pipeline`.
    mode_overrides : keyword arguments replacing fields of the mode's settings
        (``fg_threshold``, ``bg_threshold``, ``band``, ``prior_weight``, ``work_pixels``, ...).

    Examples
    --------
    >>> s = Session("u2netp", model_path="u2netp.onnx")          # doctest: +SKIP
    >>> rgba = s.cutout(rgb)                                      # doctest: +SKIP
    >>> s.last_timings                                            # doctest: +SKIP
    {'preprocess': 3.1, 'segment': 180.2, 'resize': 4.0, 'trimap': 1.2, ...}
    """

    def __init__(self, model: Union[str, ModelManifest, None] = None, mode: str = "general",
                 backend: str = "onnxruntime", precision: str = "fp32", *, model_path=None,
                 matting_model: Union[str, ModelManifest, None] = None, matting_model_path=None,
                 threads: Optional[int] = None, refine: bool = True, foreground: bool = True,
                 rembg_compat: bool = False, download: bool = True, tile: Optional[int] = None,
                 ops_backend: str = "cpu", **mode_overrides) -> None:
        self.mode = get_mode(mode, **mode_overrides)
        self.backend = backend
        self.precision = precision
        self.threads = threads
        self.info: Dict[str, Any] = {}
        manifest, path = self._pick_model(model, model_path, download)
        self.manifest = manifest
        self.model_path = path
        self.model_name = manifest.name
        self.runner = _runner_for(path, backend, precision, threads, manifest)
        m_manifest = m_runner = None
        if matting_model is not None or matting_model_path is not None:
            if matting_model is None:
                raise InputError("matting_model_path needs matting_model (a manifest name or a ModelManifest)")
            m_manifest = _manifest(matting_model)
            if m_manifest.kind != "matting":
                raise ModelError(f"{m_manifest.name!r} is a {m_manifest.kind}, not a matting network")
            m_path = resolve_model(m_manifest, matting_model_path, download=download)
            m_runner = _runner_for(m_path, backend, precision, threads, m_manifest)
        self.pipeline = Pipeline(manifest, self.runner, self.mode, refine=refine, foreground=foreground,
                                 matting_manifest=m_manifest, matting_runner=m_runner,
                                 rembg_compat=rembg_compat, tile=tile, ops_backend=ops_backend)
        self.rembg_compat = bool(rembg_compat)
        self.last_timings: Dict[str, float] = {}
        self.last_result: Optional[CutoutResult] = None

    def _pick_model(self, model, model_path, download):
        if model is None and model_path is None and self.mode.person_model:
            for name in PERSON_MODELS:
                try:
                    m = get_manifest(name)
                    p = resolve_model(m, None, download=False)
                except Error:
                    continue
                self.info["routed_to_person_model"] = name
                return m, p
            self.info["routed_to_person_model"] = None
        manifest = _manifest(model if model is not None else DEFAULT_MODEL)
        return manifest, resolve_model(manifest, model_path, download=download)

    # ------------------------------------------------------------------------------------------
    def _decode(self, image) -> Tuple[np.ndarray, Dict[str, float]]:
        if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
            if image.shape[0] == 0 or image.shape[1] == 0:
                raise InputError(f"image: the image is empty (shape {image.shape})")
            return image, {}
        t0 = time.perf_counter()
        d = aio.decode_image(image)
        return d.rgb, {"decode": (time.perf_counter() - t0) * 1000.0}

    def run(self, image, *, rgba: bool = True, refine: Optional[bool] = None,
            foreground: Optional[bool] = None) -> CutoutResult:
        """The full :class:`~alphacut.pipeline.CutoutResult` (alpha, rgba, timings, ...) of one image
        (an (H, W, 3) uint8 array, or anything :func:`alphacut.io.decode_image` reads)."""
        rgb, t = self._decode(image)
        res = self.pipeline.run(rgb, rgba=rgba, refine=refine, foreground=foreground, timings=t)
        res.info.update(self.info)
        self.last_timings = res.timings
        self.last_result = res
        return res

    def predict_alpha(self, image) -> np.ndarray:
        """(H, W) float32 α in [0, 1] at the image's full resolution."""
        return self.run(image, rgba=False, foreground=False).alpha

    def cutout(self, image) -> np.ndarray:
        """(H, W, 4) uint8 RGBA cutout (straight alpha; colour estimated on soft edges)."""
        return self.run(image).rgba

    def predict_mask(self, image) -> np.ndarray:
        """(H, W) uint8 plain mask (no refinement): rembg's exact mask when ``rembg_compat``."""
        return alpha_to_u8(self.run(image, rgba=False, refine=False, foreground=False).alpha)

    def predict(self, img, *args, **kwargs) -> List[Any]:
        """rembg's session interface: a list with one PIL "L" mask."""
        from PIL import Image

        return [Image.fromarray(self.predict_mask(img), "L")]

    def __repr__(self) -> str:
        return (f"Session(model={self.model_name!r}, mode={self.mode.name!r}, backend={self.backend!r}, "
                f"precision={self.precision!r}, ops_backend={self.pipeline.ops_backend!r})")


def new_session(model_name: str = DEFAULT_MODEL, *args, **kwargs) -> Session:
    """rembg's ``new_session``: a :class:`Session` for ``model_name`` (default "u2netp").

    Sessions are cached per (model, backend, precision, ...) and reused. Keyword arguments are
    those of :class:`Session`; rembg's ``sess_opts``/``providers`` are accepted and ignored."""
    kwargs.pop("sess_opts", None)
    kwargs.pop("providers", None)
    if args:
        raise InputError("new_session takes the model name and keyword arguments only")
    key = (model_name, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    with _SESSIONS_LOCK:
        s = _SESSIONS.get(key)
        if s is None:
            s = Session(model_name, **kwargs)
            _SESSIONS[key] = s
        return s


# ---------------------------------------------------------------------------------------------
# rembg's remove()
# ---------------------------------------------------------------------------------------------


def _post_process(mask: np.ndarray) -> np.ndarray:
    """rembg's ``post_process``: opening with a radius-1 disk (a 3×3 cross), a Gaussian blur of
    σ = 2 (scipy's reflect border, truncate 4σ) and a threshold at 127."""
    m = mask
    pad = np.pad(m, 1, mode="edge")
    er = np.minimum.reduce([pad[1:-1, 1:-1], pad[:-2, 1:-1], pad[2:, 1:-1], pad[1:-1, :-2], pad[1:-1, 2:]])
    pad = np.pad(er, 1, mode="edge")
    op = np.maximum.reduce([pad[1:-1, 1:-1], pad[:-2, 1:-1], pad[2:, 1:-1], pad[1:-1, :-2], pad[1:-1, 2:]])
    sigma, r = 2.0, 8
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    x = op.astype(np.float64)
    for axis in (0, 1):
        padded = np.pad(x, [(r, r) if a == axis else (0, 0) for a in range(2)], mode="symmetric")
        n = x.shape[axis]
        acc = np.zeros_like(x)
        for i, kv in enumerate(k):
            sl = [slice(None)] * 2
            sl[axis] = slice(i, i + n)
            acc += kv * padded[tuple(sl)]
        x = acc
    return np.where(x < 127, 0, 255).astype(np.uint8)


def _rembg_trimap_mode(session: Session, fg: int, bg: int, erode: int):
    for name, v, hi in (("alpha_matting_foreground_threshold", fg, 255),
                        ("alpha_matting_background_threshold", bg, 255),
                        ("alpha_matting_erode_size", erode, 10_000)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= hi:
            raise InputError(f"{name} must be an integer 0..{hi}, got {v!r}")
    if bg >= fg:
        raise InputError(f"alpha_matting_background_threshold ({bg}) must be below the foreground threshold ({fg})")
    return {"fg_threshold": min(1.0, (fg + 0.5) / 255.0), "bg_threshold": max(0.0, (bg - 0.5) / 255.0),
            "erode_px": int(erode) // 2}


def remove(data, alpha_matting: bool = False, alpha_matting_foreground_threshold: int = 240,
           alpha_matting_background_threshold: int = 10, alpha_matting_erode_size: int = 10,
           session: Optional[Any] = None, only_mask: bool = False, post_process_mask: bool = False,
           decontaminate: bool = False, vitmatte: bool = False, vitmatte_model: Optional[str] = None,
           bgcolor: Optional[Tuple[int, int, int, int]] = None, force_return_bytes: bool = False,
           *args, **kwargs):
    """Remove the background — rembg's ``remove()`` with its keywords, defaults and return types.

    Parameters
    ----------
    data : bytes, PIL.Image.Image or numpy.ndarray
        bytes give PNG bytes back, a PIL image gives a PIL image, an array gives an array
        ((H, W, 4) uint8 RGBA; (H, W) uint8 with ``only_mask``).
    alpha_matting : bool, default False
        Refine the edge: a trimap from the mask (``mask > foreground_threshold`` and
        ``mask < background_threshold``, each eroded by ``alpha_matting_erode_size`` px), then
        alphacut's fast native solve in the unknown band and foreground estimation (rembg runs a
        closed-form solver at full resolution instead).
    alpha_matting_foreground_threshold, alpha_matting_background_threshold : int, 240 and 10
    alpha_matting_erode_size : int, default 10
    session : Session, optional
        Default ``new_session("u2netp")`` (rembg 2.0.86 defaults to bria-rmbg, which is not a
        model alphacut ships). A rembg session (anything with ``predict(PIL) -> [masks]``) works too.
    only_mask : bool, default False — return the (L) mask only.
    post_process_mask : bool, default False — rembg's morphological smoothing of the mask.
    decontaminate : bool, default False — estimate the foreground colour on soft edges.
    vitmatte : not supported (raises :class:`InputError`).
    bgcolor : (r, g, b, a), optional — composite the cutout over this colour.
    force_return_bytes : bool, default False — return PNG bytes whatever the input type.

    Returns
    -------
    bytes, PIL.Image.Image or numpy.ndarray, as the input (see ``data``).
    """
    from PIL import Image

    if vitmatte:
        raise InputError("vitmatte=True is not supported by alphacut; use alpha_matting=True or a Session "
                         "with matting_model=...")
    if isinstance(data, (bytes, bytearray)) or force_return_bytes:
        ret = "bytes"
    elif isinstance(data, Image.Image):
        ret = "pil"
    elif isinstance(data, np.ndarray):
        ret = "ndarray"
    else:
        raise InputError(f"Input type {type(data)} is not supported. Try using force_return_bytes=True "
                         "to force python bytes output")
    putalpha = kwargs.pop("putalpha", False)
    compress_level = kwargs.pop("compress_level", 1)
    decoded = aio.decode_image(data)
    rgb = decoded.rgb
    if session is None:
        session = new_session(DEFAULT_MODEL)

    if isinstance(session, Session):
        if alpha_matting and not only_mask:
            tm = _rembg_trimap_mode(session, alpha_matting_foreground_threshold,
                                    alpha_matting_background_threshold, alpha_matting_erode_size)
            res = _matting_run(session, rgb, tm)
            mask = None
            rgba = res.rgba
        else:
            mask = session.predict_mask(rgb)
            rgba = None
    else:
        masks = session.predict(Image.fromarray(rgb, "RGB"), *args, **kwargs)
        if not masks:
            raise ModelError("the session returned no mask")
        mask = np.asarray(masks[0].convert("L"))
        rgba = None
        if alpha_matting and not only_mask:
            raise InputError("alpha_matting=True needs an alphacut Session (session=alphacut.new_session(...))")

    if mask is not None:
        if post_process_mask:
            mask = _post_process(mask)
        if only_mask:
            out_img = Image.fromarray(mask, "L")
        elif putalpha:
            out_img = Image.fromarray(np.dstack([rgb, mask]), "RGBA")
        elif decontaminate:
            a = mask.astype(np.float32) / 255.0
            out_img = Image.fromarray(_pack(rgb, a, _foreground(rgb, a)), "RGBA")
        elif isinstance(session, Session) and not session.rembg_compat:
            out_img = Image.fromarray(compose_rgba(rgb, mask), "RGBA")
        else:
            img = Image.fromarray(rgb, "RGB")
            out_img = Image.composite(img, Image.new("RGBA", img.size, 0), Image.fromarray(mask, "L"))
    else:
        out_img = Image.fromarray(rgba, "RGBA")

    if bgcolor is not None and not only_mask:
        colour = aio.parse_color(bgcolor, channels=4)
        out_img = Image.alpha_composite(Image.new("RGBA", out_img.size, colour), out_img)

    if ret == "pil":
        return out_img
    if ret == "ndarray":
        return np.asarray(out_img)
    return aio.encode_png(np.asarray(out_img), compress_level=compress_level)


def _matting_run(session: Session, rgb: np.ndarray, tm: Dict[str, float]) -> CutoutResult:
    """One run of the session's pipeline with rembg's trimap thresholds and erosion."""
    H, W = rgb.shape[:2]
    long_side = max(H, W)
    mode = get_mode(session.mode, fg_threshold=tm["fg_threshold"], bg_threshold=tm["bg_threshold"],
                        band=tm["erode_px"] / float(long_side), min_band_px=0 if tm["erode_px"] == 0 else 1)
    pipe = Pipeline(session.manifest, session.runner, mode, refine=True, foreground=True,
                    matting_manifest=session.pipeline.matting_manifest,
                    matting_runner=session.pipeline.matting_runner)
    res = pipe.run(rgb)
    session.last_timings = res.timings
    session.last_result = res
    return res
