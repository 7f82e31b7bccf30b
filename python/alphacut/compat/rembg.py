"""Everything rembg-shaped, in one place: rembg's one-call :func:`remove` and
:func:`new_session` with its keywords, defaults and return types, its mask post-processing, and
its exact numbers (``rembg_compat``: LANCZOS resizes, the image divided by its own maximum,
float64 normalisation, a min-max stretch of the output, uint8 truncation and PIL's "naive"
cutout).

Two front doors share one implementation:

- alphacut's own :func:`remove` / :func:`new_session` (``alphacut.remove``): alphacut's
  :class:`~alphacut.Session`, alphacut's decoder and errors, u2netp by default;
- the ``rembg`` drop-in distribution (``compat/rembg/`` in the repository) maps rembg 2.0.86's
  names onto :func:`rembg_remove`, :func:`rembg_new_session`, :class:`BaseSession` and the
  session classes in :data:`sessions_class`: rembg's defaults (``bria-rmbg``), rembg's exact
  masks, PIL's errors.

Both map ONNX Runtime execution providers (``providers=[...]``) onto alphacut's runtimes and
backends (:func:`place`), and both run ``alpha_matting=True`` as alphacut's native band solve
on rembg's trimap (:func:`matting_alpha`) instead of rembg's closed-form solve at full size.
"""

from __future__ import annotations

import io as _io
import os
import sys
import time
import warnings
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Type

import numpy as np

from .. import image, ops
from ..errors import BackendUnavailableError, Error, InputError, ModelError
from ..models.manifest import InputSpec, ModelManifest, OutputSpec
from ..pipeline import CutoutResult, get_mode, stages
from ..pipeline.network import network_size
from ..session import DEFAULT_MODEL, Session, cached_session, decode_for_cut

if TYPE_CHECKING:
    from ..pipeline.pipeline import BatchItem, Pipeline, State

__all__ = [
    "REMBG_VERSION",
    "REMBG_DEFAULT_MODEL",
    "UnknownModelError",
    "UnsupportedModelError",
    "Placement",
    "place",
    "new_session",
    "remove",
    "RemoveOptions",
    "remove_item",
    "remove_finish",
    "rembg_new_session",
    "rembg_remove",
    "BaseSession",
    "sessions",
    "sessions_class",
    "sessions_names",
    "sessions_names_downloadable",
    "sessions_names_no_credentials",
    "download_models",
    "post_process",
    "naive_cutout",
    "putalpha_cutout",
    "decontaminate_cutout",
    "alpha_matting_cutout",
    "apply_background_color",
    "fix_image_orientation",
    "get_concat_v",
    "get_concat_v_multi",
    "ReturnType",
    "rembg_trimap",
    "matting_alpha",
    "rembg_preprocess",
    "rembg_mask",
    "raw_output",
    "plan",
]

#: The rembg release whose API the drop-in mirrors (``rembg.__version__``).
REMBG_VERSION = "2.0.86"
#: rembg 2.0.86's default model for ``new_session()`` and ``remove()`` without a session.
REMBG_DEFAULT_MODEL = "bria-rmbg"


class UnknownModelError(ModelError, ValueError):
    """A model name no session class has (rembg raises ValueError; alphacut's callers catch
    :class:`alphacut.Error`: this is both)."""


class UnsupportedModelError(ModelError, ValueError):
    """One of rembg's model names that alphacut cannot serve (a prompted, multi-mask or remote
    model); the message says why and what to use instead."""


# ---------------------------------------------------------------------------------------------
# Execution providers → alphacut's runtime (the network) and backend (the kernels after it)
# ---------------------------------------------------------------------------------------------

_CPU_EP = "CPUExecutionProvider"
_CUDA_EP = "CUDAExecutionProvider"
_TRT_EP = "TensorrtExecutionProvider"


@dataclass(frozen=True)
class Placement:
    """Where a session runs, chosen from ONNX Runtime execution providers.

    runtime : alphacut's network runtime ("onnxruntime", "onnxruntime-cuda", "tensorrt").
    backend : where alphacut's kernels run after the network ("cpu", "cuda").
    provider : the execution provider the placement stands for.
    ort_providers : the providers a plain ONNX Runtime session gets (custom session classes).
    notes : one line per provider asked for but passed over, and why.
    """

    runtime: str = "onnxruntime"
    backend: str = "cpu"
    provider: str = _CPU_EP
    ort_providers: Tuple[str, ...] = (_CPU_EP,)
    notes: Tuple[str, ...] = ()

    def warn(self, stacklevel: int = 3) -> None:
        """Print each note as a RuntimeWarning (shown on stderr by default)."""
        for n in self.notes:
            warnings.warn(n, RuntimeWarning, stacklevel=stacklevel)


def _provider_name(p) -> str:
    """An ONNX Runtime providers entry: a name, or (name, options)."""
    if isinstance(p, str):
        return p
    if isinstance(p, (tuple, list)) and p and isinstance(p[0], str):
        return p[0]
    raise InputError(f"providers: each entry must be a provider name or (name, options), got {p!r}")


def _ort_available() -> List[str]:
    try:
        import onnxruntime as ort
    except ImportError:  # pragma: no cover - a core dependency
        return []
    return list(ort.get_available_providers())


def _kernels_on(device_wanted: bool) -> Tuple[str, Optional[str]]:
    """("cuda", None) when alphacut's CUDA kernels can run here, else ("cpu", why not)."""
    if not device_wanted:
        return "cpu", None
    from ..ops import available_backends

    if "cuda" in available_backends():
        return "cuda", None
    from .. import _core, device

    if not getattr(_core, "built_with_cuda", False):
        why = "this alphacut build has no CUDA kernels"
    else:
        why = device.why_unavailable() or "no usable CUDA device"
    return "cpu", why


def place(providers: Optional[Sequence[Any]]) -> Placement:
    """Map ONNX Runtime execution providers (rembg's ``providers=[...]``, first wins) onto
    alphacut: ``TensorrtExecutionProvider`` → runtime "tensorrt" with the CUDA kernels,
    ``CUDAExecutionProvider`` → runtime "onnxruntime-cuda" with the CUDA kernels,
    ``CPUExecutionProvider`` → ONNX Runtime on the CPU. A provider that cannot run here, or that
    alphacut does not drive (ROCm, OpenVINO, CoreML, DirectML, ...), is passed over with the
    reason in ``notes``; when none is left, the CPU. ``None`` or ``[]`` is the CPU."""
    if providers is None:
        return Placement()
    if isinstance(providers, (str, bytes)) or not isinstance(providers, (list, tuple)):
        raise InputError(f"providers must be a list of execution provider names, got {providers!r}")
    names = [_provider_name(p) for p in providers]
    available = _ort_available()
    notes: List[str] = []
    ort_list = [n for n in names if n in available and n != _CPU_EP]
    ort_providers = tuple(ort_list + [_CPU_EP])
    for n in names:
        if n not in available and n not in (_TRT_EP,):
            notes_for_ort = f"{n} is not available in this ONNX Runtime ({', '.join(available) or 'none'})"
        else:
            notes_for_ort = None
        if n == _TRT_EP:
            from ..runtime import tensorrt_unavailable_reason

            why = tensorrt_unavailable_reason()
            if why is not None:
                notes.append(f"{_TRT_EP} requested but TensorRT cannot run here ({why}); trying the next provider")
                continue
            backend, kwhy = _kernels_on(True)
            if kwhy:
                notes.append(f"{_TRT_EP}: the network runs on TensorRT, alphacut's post-processing on the CPU ({kwhy})")
            return Placement("tensorrt", backend, n, ort_providers, tuple(notes))
        if n == _CUDA_EP:
            if notes_for_ort:
                notes.append(
                    f"{_CUDA_EP} requested but {notes_for_ort}: install onnxruntime-gpu "
                    "(alone: with onnxruntime beside it the CPU build wins); trying the next provider"
                )
                continue
            backend, kwhy = _kernels_on(True)
            if kwhy:
                notes.append(f"{_CUDA_EP}: the network runs on CUDA, alphacut's post-processing on the CPU ({kwhy})")
            return Placement("onnxruntime-cuda", backend, n, ort_providers, tuple(notes))
        if n == _CPU_EP:
            return Placement("onnxruntime", "cpu", n, ort_providers, tuple(notes))
        notes.append(
            f"{n} requested but alphacut runs networks on ONNX Runtime's CPU or CUDA provider or on "
            "TensorRT only; trying the next provider"
        )
    if names:
        notes.append("no requested execution provider can run here: running on the CPU")
    return Placement("onnxruntime", "cpu", _CPU_EP, ort_providers, tuple(notes))


def _rembg_default_providers() -> List[str]:
    """What rembg picks when ``providers`` is not given: CUDA on a GPU build of ONNX Runtime,
    else the CPU (rembg's ROCm/OpenVINO picks are not providers alphacut drives)."""
    try:
        import onnxruntime as ort

        if ort.get_device() == "GPU" and _CUDA_EP in ort.get_available_providers():
            return [_CUDA_EP, _CPU_EP]
    except ImportError:  # pragma: no cover
        pass
    return [_CPU_EP]


_SESS_OPTS_APPLIED = ("intra_op_num_threads", "inter_op_num_threads")
_SESS_OPTS_CHECKED = (
    "graph_optimization_level",
    "execution_mode",
    "enable_profiling",
    "enable_cpu_mem_arena",
    "enable_mem_pattern",
    "use_deterministic_compute",
    "optimized_model_filepath",
)


def _threads(sess_opts) -> Optional[int]:
    """Intra-op threads from rembg's ``sess_opts`` (``intra_op_num_threads``) or, as rembg does,
    ``OMP_NUM_THREADS``; None lets ONNX Runtime choose."""
    n = int(getattr(sess_opts, "intra_op_num_threads", 0) or 0) if sess_opts is not None else 0
    if n <= 0 and os.environ.get("OMP_NUM_THREADS", "").strip():
        try:
            n = int(os.environ["OMP_NUM_THREADS"])
        except ValueError:
            raise InputError(f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']!r} is not an integer") from None
    return n if n > 0 else None


def _unapplied_session_options(sess_opts) -> List[str]:
    """Settings of ``sess_opts`` that differ from ONNX Runtime's defaults and that alphacut does
    not apply (it builds its own session options; only the thread count is taken)."""
    if sess_opts is None:
        return []
    try:
        import onnxruntime as ort

        default = ort.SessionOptions()
    except ImportError:  # pragma: no cover
        return []
    out = []
    for name in _SESS_OPTS_CHECKED:
        try:
            v, d = getattr(sess_opts, name), getattr(default, name)
        except AttributeError:
            continue
        if v != d:
            out.append(f"{name}={v}")
    return out


def _warn_unapplied(sess_opts, stacklevel: int = 4) -> None:
    unapplied = _unapplied_session_options(sess_opts)
    if unapplied:
        warnings.warn(
            f"sess_opts: alphacut applies intra_op_num_threads only; not applied: {', '.join(unapplied)}",
            RuntimeWarning,
            stacklevel=stacklevel,
        )


def _check_active_provider(ort_session, placement: Placement) -> None:
    """ONNX Runtime lists the CUDA provider whenever its shim is installed, and quietly runs on
    the CPU when the CUDA libraries are missing: say so when that happened."""
    if placement.provider != _CUDA_EP or ort_session is None:
        return
    try:
        active = ort_session.get_providers()
    except Exception:  # noqa: BLE001 - an adapter without providers
        return
    if _CUDA_EP not in active:
        warnings.warn(
            f"{_CUDA_EP} was requested but ONNX Runtime runs the network on {', '.join(active)} "
            "(the CUDA/cuDNN libraries it needs did not load; see ONNX Runtime's log)",
            RuntimeWarning,
            stacklevel=4,
        )


def _session_placed(model, placement: Placement, **kwargs) -> Session:
    """A cached :class:`Session` on ``placement``; when the accelerator fails to start (TensorRT
    engine build, CUDA provider), the reason is printed and the CPU used."""
    try:
        s = cached_session(model, runtime=placement.runtime, backend=placement.backend, **kwargs)
    except BackendUnavailableError as exc:
        if placement.runtime == "onnxruntime" and placement.backend == "cpu":
            raise
        warnings.warn(f"{placement.provider}: {exc}; running on the CPU", RuntimeWarning, stacklevel=4)
        s = cached_session(model, runtime="onnxruntime", backend="cpu", **kwargs)
    _check_active_provider(getattr(s.runtime, "session", None), placement)
    return s


def _zoo_manifest(model_name: str) -> ModelManifest:
    """The zoo's manifest for a model name, or :class:`UnknownModelError` (a ValueError)."""
    from ..models import get_manifest

    try:
        return get_manifest(model_name)
    except ModelError as exc:
        raise UnknownModelError(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# alphacut's front door: new_session and remove on alphacut's Session
# ---------------------------------------------------------------------------------------------


def new_session(
    model_name: str = DEFAULT_MODEL, *args, providers: Optional[Sequence[Any]] = None, sess_opts: Any = None, **kwargs
) -> Session:
    """rembg's ``new_session`` on alphacut: a cached :class:`~alphacut.Session` for
    ``model_name`` (default "u2netp").

    Parameters
    ----------
    model_name : str
        A model of alphacut's zoo (rembg's names); an unknown name raises
        :class:`UnknownModelError` (an :class:`alphacut.Error` and a ValueError, as in rembg).
    providers : list of ONNX Runtime execution providers, optional
        Mapped by :func:`place` onto ``runtime=``/``backend=`` (TensorRT, CUDA, CPU); one that
        cannot run here is reported (RuntimeWarning) and the next one tried, then the CPU.
    sess_opts : onnxruntime.SessionOptions, optional
        Its ``intra_op_num_threads`` (or ``OMP_NUM_THREADS``) sets ``threads=``; other settings
        are not applied, and a warning lists those that differ from the defaults.
    **kwargs
        Keywords of :class:`~alphacut.Session` (``mode``, ``runtime``, ``backend``, ``refine``,
        ``rembg_compat``, ...). Sessions are cached per (model, keywords) and reused.
    """
    if args:
        raise InputError("new_session takes the model name and keyword arguments only")
    if isinstance(model_name, str):
        _zoo_manifest(model_name)
    if providers is not None:
        if "runtime" in kwargs or "backend" in kwargs:
            raise InputError("give providers= or runtime=/backend=, not both")
        placement = place(providers)
        placement.warn(stacklevel=3)
    else:
        placement = Placement(kwargs.pop("runtime", "onnxruntime"), kwargs.pop("backend", "cpu"))
    if sess_opts is not None:
        if "threads" not in kwargs:
            kwargs["threads"] = _threads(sess_opts)
        _warn_unapplied(sess_opts, stacklevel=3)
    if placement.runtime == "onnxruntime" and placement.backend == "cpu" and providers is None:
        return cached_session(model_name, runtime=placement.runtime, backend=placement.backend, **kwargs)
    return _session_placed(model_name, placement, **kwargs)


class ReturnType(Enum):
    """What :func:`remove` returns, from the type of its input (rembg's enum)."""

    BYTES = 0
    PILLOW = 1
    NDARRAY = 2


def _return_type(data, force_return_bytes: bool) -> ReturnType:
    from PIL import Image

    if isinstance(data, (bytes, bytearray)) or force_return_bytes:
        return ReturnType.BYTES
    if isinstance(data, Image.Image):
        return ReturnType.PILLOW
    if isinstance(data, np.ndarray):
        return ReturnType.NDARRAY
    raise InputError(
        f"Input type {type(data)} is not supported. Try using force_return_bytes=True to force python bytes output"
    )


def remove(
    data,
    alpha_matting: bool = False,
    alpha_matting_foreground_threshold: int = 240,
    alpha_matting_background_threshold: int = 10,
    alpha_matting_erode_size: int = 10,
    session: Optional[Any] = None,
    only_mask: bool = False,
    post_process_mask: bool = False,
    decontaminate: bool = False,
    vitmatte: bool = False,
    vitmatte_model: Optional[str] = None,
    bgcolor: Optional[Tuple[int, int, int, int]] = None,
    force_return_bytes: bool = False,
    *args,
    **kwargs,
):
    """Remove the background — rembg's ``remove()`` with its keywords, defaults and return types,
    on alphacut's decoder and (by default) alphacut's u2netp session.

    Parameters
    ----------
    data : bytes, PIL.Image.Image or numpy.ndarray
        bytes give PNG bytes back, a PIL image gives a PIL image, an array gives an array
        ((H, W, 4) uint8 RGBA; (H, W) uint8 with ``only_mask``). Decoded by
        :func:`alphacut.image.decode_image` (EXIF orientation, 16-bit, CMYK, pixel limit;
        :class:`alphacut.DecodeError` for what is not an image).
    alpha_matting : bool, default False
        Refine the edge on rembg's trimap (``mask > foreground_threshold`` sure foreground,
        ``mask < background_threshold`` sure background, each eroded by an
        ``alpha_matting_erode_size`` square, a 3×3 cross when it is 0 or less) with alphacut's
        native band solve (:func:`matting_alpha`) on the session's backend, then the foreground
        colour. rembg solves the closed-form matting problem at full size instead (seconds per
        image). A trimap without sure foreground or background falls back, as in rembg, to the
        mask with the foreground colour estimated.
    alpha_matting_foreground_threshold, alpha_matting_background_threshold : int, 240 and 10
    alpha_matting_erode_size : int, default 10
    session : optional
        Default ``new_session("u2netp")`` (alphacut's numbers); a rembg-compatible session
        (``new_session(..., rembg_compat=True)``, the ``rembg`` drop-in's sessions) gives rembg's
        exact masks; any object with ``predict(PIL image) -> [PIL masks]`` works (one cutout per
        mask, stacked vertically, as rembg does).
    only_mask : bool, default False — return the (L) mask only.
    post_process_mask : bool, default False — rembg's morphological smoothing of the mask.
    decontaminate : bool, default False — estimate the foreground colour on soft edges
        (alphacut's native ``estimate_foreground``; rembg uses pymatting's, the same method).
    vitmatte : not supported (raises :class:`InputError`: use ``alpha_matting=True``).
    bgcolor : (r, g, b, a), optional — composite the cutout over this colour.
    force_return_bytes : bool, default False — return PNG bytes whatever the input type.
    putalpha : bool (keyword), default False — the mask as the image's alpha, colours untouched.
    compress_level : int (keyword), default 1 — zlib level of returned PNG bytes.

    Returns
    -------
    bytes, PIL.Image.Image or numpy.ndarray, as the input (see ``data``).
    """
    from PIL import Image

    if vitmatte:
        raise InputError(
            "vitmatte=True is not supported by alphacut; use alpha_matting=True (alphacut's "
            "native band solve) or a Session with matting_model=..."
        )
    ret = _return_type(data, force_return_bytes)
    # The size is checked from the header before decoding: the session's pixel limit (rembg's own
    # sessions: the default one) and the memory the cut needs.
    limit = session.max_pixels if isinstance(session, Session) else None
    img = Image.fromarray(decode_for_cut(data, limit).rgb, "RGB")
    if session is None:
        session = new_session(DEFAULT_MODEL)
    return _remove(
        img,
        ret,
        session,
        alpha_matting,
        alpha_matting_foreground_threshold,
        alpha_matting_background_threshold,
        alpha_matting_erode_size,
        only_mask,
        post_process_mask,
        decontaminate,
        bgcolor,
        args,
        kwargs,
    )


# ---------------------------------------------------------------------------------------------
# The shared remove: rembg's loop over the session's masks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoveOptions:
    """The keywords of :func:`remove` that shape its result (rembg's names, shortened); what a
    server hands from a request to :func:`remove_item` and :func:`remove_finish`."""

    alpha_matting: bool = False
    foreground_threshold: int = 240
    background_threshold: int = 10
    erode_size: int = 10
    only_mask: bool = False
    post_process_mask: bool = False
    decontaminate: bool = False
    bgcolor: Optional[Tuple[int, ...]] = None
    putalpha: bool = False


def _remove(
    img,
    ret: ReturnType,
    session,
    alpha_matting,
    fg_threshold,
    bg_threshold,
    erode_size,
    only_mask,
    post_process_mask,
    decontaminate,
    bgcolor,
    args,
    kwargs,
):
    opts = RemoveOptions(
        alpha_matting=bool(alpha_matting),
        foreground_threshold=fg_threshold,
        background_threshold=bg_threshold,
        erode_size=erode_size,
        only_mask=bool(only_mask),
        post_process_mask=bool(post_process_mask),
        decontaminate=bool(decontaminate),
        bgcolor=bgcolor,
        putalpha=bool(kwargs.pop("putalpha", False)),
    )
    compress_level = kwargs.pop("compress_level", 1)
    if opts.alpha_matting and not opts.only_mask:
        _check_matting_args(fg_threshold, bg_threshold, erode_size)
    out = _cutouts(img, session.predict(img, *args, **kwargs), session, opts)
    if ret is ReturnType.PILLOW:
        return out
    if ret is ReturnType.NDARRAY:
        return np.asarray(out)
    return _png_bytes(out, compress_level)


def _cutouts(img, masks, session, opts: RemoveOptions):
    """rembg's loop over the session's masks: each mask post-processed and cut out as the options
    say, the cutouts stacked vertically, then the background colour."""
    from PIL import Image

    straight = isinstance(session, Session) and not session.rembg_compat  # alphacut's own numbers
    cutouts = []
    for mask in masks:
        if opts.post_process_mask:
            mask = Image.fromarray(post_process(np.array(mask)))
        if opts.only_mask:
            cutout = mask
        elif opts.alpha_matting:
            try:
                cutout = alpha_matting_cutout(
                    img, mask, opts.foreground_threshold, opts.background_threshold, opts.erode_size, session=session
                )
            except TrimapIncomplete:
                # rembg falls back to the decontaminated cutout when its trimap has no sure
                # foreground or background: the same here.
                cutout = (
                    putalpha_cutout(img, mask) if opts.putalpha else decontaminate_cutout(img, mask, session=session)
                )
        elif opts.putalpha:
            cutout = putalpha_cutout(img, mask)
        elif opts.decontaminate:
            cutout = decontaminate_cutout(img, mask, session=session)
        elif straight:
            rgb = np.asarray(img.convert("RGB"))
            cutout = Image.fromarray(ops.pack_rgba(rgb, np.asarray(mask.convert("L"))), "RGBA")
        else:
            cutout = naive_cutout(img, mask)
        cutouts.append(cutout)
    out = get_concat_v_multi(cutouts) if cutouts else img
    if opts.bgcolor is not None and not opts.only_mask:
        out = apply_background_color(out, opts.bgcolor)
    return out


def remove_item(session: Session, rgb: np.ndarray, opts: RemoveOptions) -> BatchItem:
    """The pipeline run :func:`remove` makes for an (H, W, 3) uint8 image with an alphacut
    :class:`~alphacut.Session` (its plain mask, what ``session.predict`` gives), as an item of
    :func:`alphacut.pipeline.pipeline.run_batch`, alone or batched with others; hand its result
    to :func:`remove_finish`. Bad matting thresholds are refused here, before any work."""
    from ..pipeline.pipeline import BatchItem

    if opts.alpha_matting and not opts.only_mask:
        _check_matting_args(opts.foreground_threshold, opts.background_threshold, opts.erode_size)
    return BatchItem(session.pipeline, rgb, rgba=False, refine=False, foreground=False)


def remove_finish(session, rgb: np.ndarray, result, opts: RemoveOptions):
    """:func:`remove`'s output image (PIL "RGBA", or "L" with ``only_mask``) from the run of
    :func:`remove_item` (a :class:`~alphacut.pipeline.CutoutResult`) or an (H, W) uint8 mask:
    the mask post-processing, the cutout (alpha matting included) and the background colour."""
    from PIL import Image

    mask = stages.alpha_to_u8(result.alpha) if isinstance(result, CutoutResult) else np.asarray(result, np.uint8)
    return _cutouts(Image.fromarray(rgb, "RGB"), [Image.fromarray(mask, "L")], session, opts)


def _png_bytes(im, compress_level) -> bytes:
    if (
        isinstance(compress_level, bool)
        or not isinstance(compress_level, (int, np.integer))
        or not 0 <= compress_level <= 9
    ):
        raise InputError(f"compress_level must be an integer 0..9, got {compress_level!r}")
    if im.mode in ("RGBA", "RGB", "L"):
        return image.encode_png(np.asarray(im), compress_level=int(compress_level))
    buf = _io.BytesIO()
    im.save(buf, "PNG", compress_level=int(compress_level))
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# rembg's cutout helpers (rembg.bg), PIL in and out
# ---------------------------------------------------------------------------------------------


def naive_cutout(img, mask):
    """rembg's ``naive_cutout``: ``Image.composite(img, transparent, mask)`` (colour scaled by the
    mask, as PIL's composite does). PIL images in, a PIL image out; or (H, W, 3) and (H, W)
    uint8 arrays in, an (H, W, 4) array out."""
    from PIL import Image

    if isinstance(img, np.ndarray):
        im = Image.fromarray(img, "RGB")
        return np.asarray(Image.composite(im, Image.new("RGBA", im.size, 0), Image.fromarray(mask, "L")))
    return Image.composite(img, Image.new("RGBA", img.size, 0), mask)


def putalpha_cutout(img, mask):
    """rembg's ``putalpha_cutout``: the mask becomes the image's alpha (the image is modified, as
    in rembg, and returned)."""
    img.putalpha(mask)
    return img


def decontaminate_cutout(img, mask, *, session=None):
    """rembg's ``decontaminate_cutout``: the mask as alpha, the colour of soft pixels replaced by
    the estimated foreground colour (alphacut's native ``estimate_foreground``, the method of
    pymatting's ``estimate_foreground_ml`` that rembg calls; on the session's backend). As rembg,
    ``clip(x · 255)`` truncated to uint8."""
    from PIL import Image

    rgb = np.asarray(img.convert("RGB"))
    a = np.asarray(mask.convert("L")).astype(np.float64) / 255.0
    fg = ops.estimate_foreground(rgb, a.astype(np.float32), backend=_backend_of(session))
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    out[:, :, :3] = np.clip(np.asarray(fg, np.float64) * 255.0, 0, 255).astype(np.uint8)
    out[:, :, 3] = np.clip(a * 255.0, 0, 255).astype(np.uint8)
    return Image.fromarray(out, "RGBA")


def get_concat_v(img1, img2):
    """Two images stacked vertically on a transparent RGBA canvas (rembg's ``get_concat_v``)."""
    from PIL import Image

    dst = Image.new("RGBA", (img1.width, img1.height + img2.height))
    dst.paste(img1, (0, 0))
    dst.paste(img2, (0, img1.height))
    return dst


def get_concat_v_multi(imgs):
    """Images stacked vertically; one image is returned as it is (rembg's ``get_concat_v_multi``;
    like rembg it consumes the list)."""
    pivot = imgs.pop(0)
    for im in imgs:
        pivot = get_concat_v(pivot, im)
    return pivot


def apply_background_color(img, color):
    """The cutout composited over ``color`` (r, g, b, a) with ``Image.alpha_composite``."""
    from PIL import Image

    try:
        colour = tuple(int(c) for c in color)
    except (TypeError, ValueError):
        raise InputError(f"bgcolor must be (r, g, b, a), got {color!r}") from None
    if len(colour) != 4:
        raise InputError(f"bgcolor must be (r, g, b, a), got {color!r}")
    return Image.alpha_composite(Image.new("RGBA", img.size, colour), img.convert("RGBA"))


def fix_image_orientation(img):
    """The image turned upright per its EXIF orientation (``ImageOps.exif_transpose``)."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(img)


def post_process(mask: np.ndarray) -> np.ndarray:
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


# ---------------------------------------------------------------------------------------------
# alpha_matting: rembg's trimap, alphacut's native band solve
# ---------------------------------------------------------------------------------------------


class TrimapIncomplete(InputError):
    """rembg's trimap holds no sure foreground or no sure background (rembg's solver raises
    ValueError there and ``remove`` falls back to the decontaminated mask)."""


def _check_matting_args(fg, bg, erode) -> None:
    """rembg compares the thresholds with the uint8 mask and builds an ``erode × erode`` square:
    any real thresholds and any integer size (≤ 0: a 3×3 cross) are accepted, as there."""
    for name, v in (("alpha_matting_foreground_threshold", fg), ("alpha_matting_background_threshold", bg)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise InputError(f"{name} must be a number, got {v!r}")
    if (
        isinstance(erode, bool)
        or not isinstance(erode, (int, np.integer, float, np.floating))
        or (erode > 0 and float(erode) != int(erode))
    ):
        raise InputError(f"alpha_matting_erode_size must be an integer, got {erode!r}")


def _erode_square(a: np.ndarray, n: int, border: bool) -> np.ndarray:
    """Binary erosion by an ``n × n`` square centred at ``n // 2`` (scipy's ``binary_erosion``
    with ``structure=np.ones((n, n))``: offsets ``-(n // 2) .. (n - 1) // 2`` on each axis);
    pixels outside the image count as ``border``. The native ``erode`` (a symmetric square, cost
    independent of the size) on the mask padded with ``border``; an even size adds the one-pixel
    shifts that make the square lopsided, as scipy's is."""
    lo, hi = n // 2, (n - 1) // 2
    pad = hi + 1 + (lo - hi)
    padded = np.pad(a, pad, mode="constant", constant_values=bool(border)).view(np.uint8)
    e = np.asarray(ops.erode(padded, hi, backend="cpu")) != 0
    H, W = a.shape
    out = e[pad : pad + H, pad : pad + W]
    if lo > hi:  # even: the window reaches one more pixel up and left
        out = (
            out
            & e[pad - 1 : pad - 1 + H, pad : pad + W]
            & e[pad : pad + H, pad - 1 : pad - 1 + W]
            & e[pad - 1 : pad - 1 + H, pad - 1 : pad - 1 + W]
        )
    return np.ascontiguousarray(out)


def _erode_cross(a: np.ndarray, border: bool) -> np.ndarray:
    """One binary erosion by the 3×3 cross (scipy's default structure)."""
    p = np.pad(a, 1, mode="constant", constant_values=border)
    return p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]


def rembg_trimap(mask: np.ndarray, foreground_threshold, background_threshold, erode_size) -> np.ndarray:
    """rembg's trimap, exactly: ``mask > foreground_threshold`` eroded (outside = background) is
    255, ``mask < background_threshold`` eroded (outside = set) is 0, the rest 128; the
    erosion's structure is an ``erode_size`` square, or scipy's 3×3 cross when ``erode_size <= 0``.
    Where both hold (thresholds crossed), background wins, as in rembg."""
    m = np.asarray(mask)
    is_fg = m > foreground_threshold
    is_bg = m < background_threshold
    if erode_size > 0:
        n = int(erode_size)
        is_fg = _erode_square(is_fg, n, False)
        is_bg = _erode_square(is_bg, n, True)
    else:
        is_fg = _erode_cross(is_fg, False)
        is_bg = _erode_cross(is_bg, True)
    tri = np.full(m.shape, 128, np.uint8)
    tri[is_fg] = 255
    tri[is_bg] = 0
    return tri


def _backend_of(session) -> str:
    inner = getattr(session, "alphacut", None)
    s = session if isinstance(session, Session) else inner if isinstance(inner, Session) else None
    return s.backend if s is not None else "cpu"


def _mode_of(session):
    inner = getattr(session, "alphacut", None)
    s = session if isinstance(session, Session) else inner if isinstance(inner, Session) else None
    return s.mode if s is not None else get_mode("general")


#: The band solve of ``alpha_matting``: rembg's objective (the closed-form matting Laplacian, no
#: prior: the mask only starts the solve), coarse to fine, to a relative residual of 1e-4. On the
#: five exact-GT composites of the shared data (u2netp masks, rembg's default thresholds) the band
#: SAD is 46.4 against rembg's 44.3 (pymatting's full-size solve), in 0.3-1.2 s per image against
#: 3-10 s; with alphacut's default prior weight (0.1) it was 86.4: the prior holds the solve to the
#: mask in hair.
MATTING_SOLVE: Dict[str, Any] = {"prior_weight": 0.0, "tol": 1e-4, "max_iter": 1000, "levels": 3}


def matting_alpha(
    rgb: np.ndarray,
    mask: np.ndarray,
    foreground_threshold=240,
    background_threshold=10,
    erode_size=10,
    *,
    backend: str = "cpu",
    mode=None,
    timings: Optional[Dict[str, float]] = None,
):
    """α for ``remove(alpha_matting=True)``: rembg's trimap (:func:`rembg_trimap`) from the
    uint8 ``mask``, α solved in its unknown band by alphacut's native ``solve_alpha`` with
    :data:`MATTING_SOLVE` at about ``mode.work_pixels`` and upscaled to full size by guided
    upsampling (the mode's radius and eps); rembg's sure pixels are exactly 0 and 1 at full size.

    Returns ``(alpha, trimap)``: (H, W) float32 and the full-size uint8 trimap. Raises
    :class:`TrimapIncomplete` when the trimap has no sure foreground or background."""
    t = timings if timings is not None else {}
    mode = get_mode(mode or "general")
    t0 = time.perf_counter()
    tri = rembg_trimap(mask, foreground_threshold, background_threshold, erode_size)
    if not (tri == 255).any() or not (tri == 0).any():
        raise TrimapIncomplete(
            "the trimap has no sure "
            + ("foreground" if not (tri == 255).any() else "background")
            + " (check the alpha matting thresholds)"
        )
    H, W = tri.shape
    work = stages.working_size((H, W), mode.work_pixels)
    prior = mask.astype(np.float32) / np.float32(255.0)
    if work == (H, W):
        rgb_w, tri_w, prior_w = rgb, tri, prior
    else:
        rgb_w = ops.resize(rgb, work, method="area")
        sure_fg = ops.resize((tri == 255).astype(np.float32), work, method="area") >= np.float32(1 - 1e-6)
        sure_bg = ops.resize((tri == 0).astype(np.float32), work, method="area") >= np.float32(1 - 1e-6)
        tri_w = np.full(work, 128, np.uint8)
        tri_w[sure_fg] = 255
        tri_w[sure_bg] = 0
        prior_w = np.clip(ops.resize(prior, work, method="area"), 0.0, 1.0)
    t["trimap"] = t.get("trimap", 0.0) + (time.perf_counter() - t0) * 1000.0
    t0 = time.perf_counter()
    alpha_w = ops.solve_alpha(rgb_w, tri_w, prior=prior_w, backend=backend, **MATTING_SOLVE)
    t["matting"] = t.get("matting", 0.0) + (time.perf_counter() - t0) * 1000.0
    t0 = time.perf_counter()
    if work == (H, W):
        alpha = np.array(alpha_w, np.float32)
    else:
        alpha = np.array(
            ops.upscale_alpha(alpha_w, rgb, radius=mode.upscale_radius, eps=mode.upscale_eps, backend=backend),
            np.float32,
        )
    alpha[tri == 255] = 1.0
    alpha[tri == 0] = 0.0
    t["upscale"] = t.get("upscale", 0.0) + (time.perf_counter() - t0) * 1000.0
    return alpha, tri


def alpha_matting_cutout(img, mask, foreground_threshold, background_threshold, erode_structure_size, *, session=None):
    """rembg's ``alpha_matting_cutout`` (PIL image and L mask in, RGBA out) on alphacut's native
    band solve (:func:`matting_alpha`) and foreground colour, on ``session``'s backend and mode
    (the CPU and "general" without one). Raises :class:`TrimapIncomplete` (a ValueError, as
    rembg's solver raises) when the trimap has no sure foreground or background."""
    from PIL import Image

    _check_matting_args(foreground_threshold, background_threshold, erode_structure_size)
    backend = _backend_of(session)
    rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    m = np.asarray(mask.convert("L"))
    timings: Dict[str, float] = {}
    alpha, tri = matting_alpha(
        rgb,
        m,
        foreground_threshold,
        background_threshold,
        erode_structure_size,
        backend=backend,
        mode=_mode_of(session),
        timings=timings,
    )
    t0 = time.perf_counter()
    if backend == "cpu":  # estimated straight into the cutout
        rgba = stages.foreground_rgba(rgb, np.asarray(alpha, np.float32))
        timings["foreground"] = (time.perf_counter() - t0) * 1000.0
    else:
        pieces = stages.foreground(rgb, alpha, backend=backend)
        timings["foreground"] = (time.perf_counter() - t0) * 1000.0
        t0 = time.perf_counter()
        rgba = np.asarray(stages.pack(rgb, alpha, [(b, np.asarray(f, np.float32)) for b, f in pieces]))
        timings["pack"] = (time.perf_counter() - t0) * 1000.0
    target = session if isinstance(session, Session) else getattr(session, "alphacut", None)
    if isinstance(target, Session):
        res = CutoutResult(
            alpha=alpha,
            rgba=rgba,
            trimap=tri,
            timings=timings,
            info={"backend": backend, "size": alpha.shape, "alpha_matting": True},
        )
        target.last_timings, target.last_result = timings, res
    return Image.fromarray(rgba, "RGBA")


# ---------------------------------------------------------------------------------------------
# The drop-in's sessions: rembg 2.0.86's session classes on alphacut
# ---------------------------------------------------------------------------------------------


class _InnerSession:
    """``session.inner_session`` for a runtime that is not ONNX Runtime (TensorRT): the part of
    ``onnxruntime.InferenceSession`` that session code calls (``run``, ``get_inputs``,
    ``get_outputs``, ``get_providers``)."""

    class _Arg:
        def __init__(self, name, shape, dtype):
            self.name, self.shape = name, [d if d is not None else "?" for d in shape]
            self.type = f"tensor({'float' if np.dtype(dtype) == np.float32 else np.dtype(dtype).name})"

    def __init__(self, runtime, provider: str) -> None:
        self._rt = runtime
        self._provider = provider

    def run(self, output_names, input_feed, run_options=None):
        outs = self._rt.infer(dict(input_feed))
        names = list(output_names) if output_names else self._rt.output_names
        return [outs[n] for n in names]

    def get_inputs(self):
        return [self._Arg(*m) for m in self._rt.input_metadata()]

    def get_outputs(self):
        return [self._Arg(*m) for m in self._rt.output_metadata()]

    def get_providers(self):
        return [self._provider]


class BaseSession:
    """rembg's ``BaseSession`` on alphacut, for subclassing as in rembg.

    ``BaseSession(model_name, sess_opts, *args, providers=[...], **kwargs)`` builds
    ``self.inner_session`` from ``cls.download_models(*args, **kwargs)``: for the model classes of
    alphacut's zoo (:data:`sessions_class`) an alphacut :class:`~alphacut.Session` in
    ``rembg_compat`` (``self.alphacut``, shared and cached) whose network session is
    ``inner_session``; for a subclass of ``BaseSession`` itself, a plain
    ``onnxruntime.InferenceSession`` on the file, its ``predict`` the subclass's own.
    ``providers`` are mapped by :func:`place` (never ignored: what cannot run is reported).
    """

    #: The zoo manifest this class serves; None for custom subclasses (plain ONNX Runtime).
    alphacut_model: Optional[str] = None

    def __init__(self, model_name: str, sess_opts: Any = None, *args, **kwargs):
        self.model_name = model_name
        requested = kwargs.pop("providers") if isinstance(kwargs.get("providers"), (list, tuple)) else None
        self.placement = place(requested if requested is not None else _rembg_default_providers())
        self.placement.warn(stacklevel=3)
        self.sess_opts = sess_opts
        threads = _threads(sess_opts)
        path = self.__class__.download_models(*args, **kwargs)
        manifest = self._alphacut_manifest(path, *args, **kwargs)
        self.alphacut: Optional[Session] = None
        if manifest is not None:
            _warn_unapplied(sess_opts)
            self.alphacut = _session_placed(
                manifest,
                self.placement,
                model_path=path,
                threads=threads,
                rembg_compat=True,
                refine=False,
                foreground=False,
                download=False,
            )
            rt = self.alphacut.runtime
            rt.activate()
            self.inner_session = getattr(rt, "session", None) or _InnerSession(rt, self.placement.provider)
        else:
            import onnxruntime as ort

            self.inner_session = ort.InferenceSession(
                str(path), sess_options=sess_opts, providers=list(self.placement.ort_providers)
            )
            _check_active_provider(self.inner_session, self.placement)

    # -- what alphacut serves ------------------------------------------------------------------
    @classmethod
    def _alphacut_manifest(cls, path, *args, **kwargs) -> Optional[ModelManifest]:
        if cls.alphacut_model is None:
            return None
        m = _zoo_manifest(cls.alphacut_model)
        own = getattr(cls.download_models, "__func__", None)
        if own is not getattr(_ZooSession.download_models, "__func__", None) or m.name != cls.name():
            # A file the class brings (a fine-tuned export, a *_custom model): the architecture's
            # numbers, without the zoo file's hash.
            m = replace(m, name=cls.name(), file=str(path), md5=None, sha256=None, size_bytes=None, aliases=())
        return m

    # -- rembg's instance API ------------------------------------------------------------------
    def normalize(self, img, mean, std, size, *args, **kwargs) -> Dict[str, np.ndarray]:
        """rembg's input: RGB, LANCZOS to ``size``, divided by its own maximum, ``(x − mean) / std``
        in float64, NCHW float32, keyed by the network's first input."""
        from PIL import Image

        a = np.array(img.convert("RGB").resize(size, Image.Resampling.LANCZOS))
        a = a / max(np.max(a), 1e-6)
        x = (a - np.asarray(mean, np.float64)) / np.asarray(std, np.float64)
        return {self.inner_session.get_inputs()[0].name: np.expand_dims(x.transpose(2, 0, 1), 0).astype(np.float32)}

    def predict(self, img, *args, **kwargs) -> List[Any]:
        raise NotImplementedError

    # -- rembg's class API ---------------------------------------------------------------------
    @classmethod
    def is_local(cls, *args, **kwargs) -> bool:
        return True

    @classmethod
    def requires_credentials(cls, *args, **kwargs) -> bool:
        return False

    @classmethod
    def has_usage_cost(cls, *args, **kwargs) -> bool:
        return False

    @classmethod
    def checksum_disabled(cls, *args, **kwargs) -> bool:
        return os.getenv("MODEL_CHECKSUM_DISABLED", None) is not None

    @classmethod
    def legacy_home(cls, *args, **kwargs) -> str:
        """rembg's old flat model folder: ``$U2NET_HOME``, else ``$XDG_DATA_HOME/.u2net`` or ``~/.u2net``."""
        return os.path.expanduser(os.getenv("U2NET_HOME", os.path.join(os.getenv("XDG_DATA_HOME", "~"), ".u2net")))

    @classmethod
    def rembg_home(cls, *args, **kwargs) -> str:
        """rembg's data folder: ``$U2NET_HOME`` when set, else ``$REMBG_HOME``, else
        ``$XDG_DATA_HOME/rembg`` or ``~/.rembg``."""
        if os.getenv("U2NET_HOME"):
            return cls.legacy_home(*args, **kwargs)
        xdg = os.getenv("XDG_DATA_HOME")
        return os.path.expanduser(os.getenv("REMBG_HOME", os.path.join(xdg, "rembg") if xdg else "~/.rembg"))

    @classmethod
    def u2net_home(cls, *args, **kwargs) -> str:
        return cls.rembg_home(*args, **kwargs)

    @classmethod
    def model_dir(cls, *args, **kwargs) -> str:
        return os.path.join(cls.rembg_home(*args, **kwargs), "models", cls.name(*args, **kwargs))

    @classmethod
    def resolve_existing(cls, fname, *args, **kwargs) -> Optional[str]:
        for d in (cls.model_dir(*args, **kwargs), cls.legacy_home(*args, **kwargs)):
            p = os.path.join(d, fname)
            if os.path.exists(p):
                return p
        return None

    @classmethod
    def validate_model_path(cls, *args, **kwargs) -> str:
        """``kwargs["model_path"]``, which must lie in rembg's model folders (ValueError else)."""
        model_path = kwargs.get("model_path")
        if model_path is None:
            raise ValueError("model_path is required")
        p = os.path.abspath(os.path.expanduser(model_path))
        roots = [os.path.abspath(cls.rembg_home(*args, **kwargs)), os.path.abspath(cls.legacy_home(*args, **kwargs))]
        for root in roots:
            if p == root or p.startswith(root + os.sep):
                return p
        raise ValueError(f"model_path must be within the models directory: {roots[0]}")

    @classmethod
    def download_models(cls, *args, **kwargs):
        raise NotImplementedError

    @classmethod
    def name(cls, *args, **kwargs):
        raise NotImplementedError

    def __repr__(self) -> str:
        where = repr(self.alphacut) if self.alphacut is not None else "onnxruntime"
        return f"{type(self).__name__}(model_name={self.model_name!r}, {where})"


class _ZooSession(BaseSession):
    """A rembg model served by alphacut's zoo: the file found (alphacut's cache, rembg's folders)
    or fetched and hash-checked; the mask is rembg's, to the LSB (``rembg_compat``)."""

    @classmethod
    def download_models(cls, *args, **kwargs) -> str:
        from ..models import resolve_model

        if cls.alphacut_model is None:  # pragma: no cover - every zoo class names its model
            raise NotImplementedError
        return str(resolve_model(_zoo_manifest(cls.alphacut_model), None, download=True))

    def predict(self, img, *args, **kwargs) -> List[Any]:
        """One "L" mask at the image's size: rembg's numbers, from alphacut's session."""
        from PIL import Image

        if self.alphacut is None:  # pragma: no cover - a subclass that skipped __init__
            raise NotImplementedError
        rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
        return [Image.fromarray(self.alphacut.predict_mask(rgb), "L")]

    @staticmethod
    def sigmoid(mat):
        return 1 / (1 + np.exp(-mat))


class _CustomFileSession(_ZooSession):
    """rembg's ``*_custom`` sessions: ``model_path=`` (inside rembg's model folders) run with the
    numbers of the architecture they export."""

    def __init__(self, model_name: str, sess_opts: Any = None, *args, **kwargs):
        if kwargs.get("model_path") is None:
            raise ValueError("model_path is required")
        super().__init__(model_name, sess_opts, *args, **kwargs)

    @classmethod
    def download_models(cls, *args, **kwargs) -> str:
        return cls.validate_model_path(*args, **kwargs)


class _UnsupportedSession(BaseSession):
    """One of rembg's model names alphacut cannot serve: the class exists (rembg's lists and
    lookups stay the same) and constructing it raises :class:`UnsupportedModelError`."""

    reason = ""

    def __init__(self, model_name: str, sess_opts: Any = None, *args, **kwargs):
        raise UnsupportedModelError(
            f"rembg's model {self.name()!r} is not served by alphacut: {self.reason} Models it serves: "
            f"{', '.join(n for n, c in sessions.items() if not issubclass(c, _UnsupportedSession))}."
        )

    @classmethod
    def download_models(cls, *args, **kwargs):
        raise UnsupportedModelError(f"rembg's model {cls.name()!r} is not served by alphacut: {cls.reason}")


def _session_class(class_name: str, rembg_name: str, base, module: str, **attrs) -> Type[BaseSession]:
    ns: Dict[str, Any] = dict(attrs)
    ns["name"] = classmethod(lambda cls, *a, **k: rembg_name)
    ns["__module__"] = f"rembg.sessions.{module}"
    ns["__doc__"] = f"rembg's {class_name} ({rembg_name!r}) on alphacut."
    return type(class_name, (base,), ns)


_NOT_LOCAL = dict(
    is_local=classmethod(lambda cls, *a, **k: False),
    requires_credentials=classmethod(lambda cls, *a, **k: True),
    has_usage_cost=classmethod(lambda cls, *a, **k: True),
)

# rembg 2.0.86's registry, in its order: (rembg name, class name, rembg module, how alphacut serves it)
_REGISTRY = [
    ("birefnet-general", "BiRefNetSessionGeneral", "birefnet_general", "birefnet-general"),
    ("birefnet-general-lite", "BiRefNetSessionGeneralLite", "birefnet_general_lite", "birefnet-general-lite"),
    (
        "birefnet-general-fp16",
        "BiRefNetSessionGeneralFP16",
        "birefnet_general_fp16",
        "it is not in alphacut's model zoo (use birefnet-general; runtime='tensorrt', precision='fp16' runs "
        "it in FP16).",
    ),
    ("birefnet-portrait", "BiRefNetSessionPortrait", "birefnet_portrait", "birefnet-portrait"),
    ("birefnet-dis", "BiRefNetSessionDIS", "birefnet_dis", "birefnet-dis"),
    ("birefnet-hrsod", "BiRefNetSessionHRSOD", "birefnet_hrsod", "birefnet-hrsod"),
    ("birefnet-cod", "BiRefNetSessionCOD", "birefnet_cod", "birefnet-cod"),
    ("birefnet-massive", "BiRefNetSessionMassive", "birefnet_massive", "birefnet-massive"),
    ("isnet-anime", "DisSession", "dis_anime", "isnet-anime"),
    ("dis_custom", "DisCustomSession", "dis_custom", "custom:isnet-general-use"),
    ("isnet-general-use", "DisSession", "dis_general_use", "isnet-general-use"),
    (
        "sam",
        "SamSession",
        "sam",
        "Segment Anything needs prompts and an encoder/decoder pair, which alphacut's pipeline does not run.",
    ),
    ("silueta", "SiluetaSession", "silueta", "silueta"),
    (
        "u2net_cloth_seg",
        "Unet2ClothSession",
        "u2net_cloth_seg",
        "its three clothing masks per image are not produced by alphacut's pipeline (one foreground per image).",
    ),
    ("u2net_custom", "U2netCustomSession", "u2net_custom", "custom:u2net"),
    ("u2net_human_seg", "U2netHumanSegSession", "u2net_human_seg", "u2net_human_seg"),
    ("u2net", "U2netSession", "u2net", "u2net"),
    ("u2netp", "U2netpSession", "u2netp", "u2netp"),
    ("bria-rmbg", "BriaRmBgSession", "bria_rmbg", "bria-rmbg"),
    ("ben_custom", "BenCustomSession", "ben_custom", "custom:isnet-general-use"),
    (
        "withoutbg",
        "WithoutBgSession",
        "withoutbg",
        "it sends the image to a paid remote service, which a local engine does not do.",
    ),
    (
        "atlascloud",
        "AtlasCloudSession",
        "atlascloud",
        "it sends the image to a paid remote service, which a local engine does not do.",
    ),
]

#: rembg's name → session class, in rembg's order (``rembg.sessions.sessions``).
sessions: Dict[str, Type[BaseSession]] = {}
for _name, _cls_name, _module, _how in _REGISTRY:
    if _how.startswith("custom:"):
        _cls = _session_class(_cls_name, _name, _CustomFileSession, _module, alphacut_model=_how[len("custom:") :])
    elif " " in _how:
        _extra = _NOT_LOCAL if _name in ("withoutbg", "atlascloud") else {}
        _cls = _session_class(_cls_name, _name, _UnsupportedSession, _module, reason=_how, **_extra)
    else:
        _cls = _session_class(_cls_name, _name, _ZooSession, _module, alphacut_model=_how)
    sessions[_name] = _cls
del _name, _cls_name, _module, _how, _cls

#: rembg's lists: every name, every class (``rembg_new_session`` looks names up in this list
#: object, so classes callers append are found, as in rembg), and rembg's two filtered lists.
sessions_names: List[str] = list(sessions.keys())
sessions_class: List[Type[BaseSession]] = list(sessions.values())
sessions_names_no_credentials: List[str] = [n for n, c in sessions.items() if not c.requires_credentials()]
sessions_names_downloadable: List[str] = [n for n, c in sessions.items() if c.is_local()]


def session_class(model_name: str) -> Type[BaseSession]:
    """The class named ``model_name`` in :data:`sessions_class` (rembg's lookup, ``cls.name()``)."""
    for sc in sessions_class:
        try:
            if sc.name() == model_name:
                return sc
        except NotImplementedError:
            continue
    known = ", ".join(sc.name() for sc in sessions_class if sc is not None)
    raise UnknownModelError(f"No session class found for model '{model_name}' (rembg's models: {known})")


def rembg_new_session(model_name: str = REMBG_DEFAULT_MODEL, *args, sess_opts: Any = None, **kwargs):
    """rembg 2.0.86's ``new_session``: the session class named ``model_name``, constructed with
    ``(model_name, sess_opts, *args, **kwargs)``. ``providers=[...]`` picks where it runs
    (:func:`place`); other keywords are the class's (``model_path`` for the ``*_custom`` models)
    and are otherwise ignored, as rembg does. Unknown names raise :class:`UnknownModelError`
    (a ValueError, rembg's type); rembg's names alphacut cannot serve raise
    :class:`UnsupportedModelError` (a ValueError)."""
    cls = session_class(model_name)
    try:
        import onnxruntime as ort
    except ImportError:  # pragma: no cover - a core dependency
        ort = None
    if sess_opts is None and ort is not None:
        sess_opts = ort.SessionOptions()
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if omp and sess_opts is not None:  # rembg's rule, on the options as rembg sets them
        try:
            n = int(omp)
        except ValueError:
            raise InputError(f"OMP_NUM_THREADS={omp!r} is not an integer") from None
        if sess_opts.inter_op_num_threads == 0:
            sess_opts.inter_op_num_threads = n
        if sess_opts.intra_op_num_threads == 0:
            sess_opts.intra_op_num_threads = n
    return cls(model_name, sess_opts, *args, **kwargs)


def rembg_remove(
    data,
    alpha_matting: bool = False,
    alpha_matting_foreground_threshold: int = 240,
    alpha_matting_background_threshold: int = 10,
    alpha_matting_erode_size: int = 10,
    session: Optional[Any] = None,
    only_mask: bool = False,
    post_process_mask: bool = False,
    decontaminate: bool = False,
    vitmatte: bool = False,
    vitmatte_model: Optional[str] = None,
    bgcolor: Optional[Tuple[int, int, int, int]] = None,
    force_return_bytes: bool = False,
    *args,
    **kwargs,
):
    """rembg 2.0.86's ``remove`` (the drop-in's ``rembg.remove``): rembg's decoding (PIL, EXIF
    orientation) and errors (what PIL raises; ValueError for an unsupported type), rembg's
    default session (``new_session("bria-rmbg", *args, **kwargs)``), and rembg's output to the
    LSB on the plain paths. ``alpha_matting=True`` runs alphacut's native band solve on rembg's
    trimap (see :func:`remove`); ``vitmatte=True`` is refused (ValueError). Unlike rembg,
    ``force_return_bytes=True`` also works for PIL and array inputs."""
    from PIL import Image

    img: Any
    if vitmatte:
        raise InputError(
            "vitmatte=True is not supported by the alphacut rembg drop-in; use alpha_matting=True "
            "(alphacut's native band solve)"
        )
    if isinstance(data, (bytes, bytearray)):
        ret = ReturnType.BYTES
        img = Image.open(_io.BytesIO(bytes(data)))
    elif isinstance(data, Image.Image):
        ret = ReturnType.BYTES if force_return_bytes else ReturnType.PILLOW
        img = data
    elif isinstance(data, np.ndarray):
        ret = ReturnType.BYTES if force_return_bytes else ReturnType.NDARRAY
        img = Image.fromarray(data)
    else:
        raise ValueError(
            f"Input type {type(data)} is not supported. Try using force_return_bytes=True to force python bytes output"
        )
    img = fix_image_orientation(img)
    if session is None:
        session = rembg_new_session(REMBG_DEFAULT_MODEL, *args, **kwargs)
    return _remove(
        img,
        ret,
        session,
        alpha_matting,
        alpha_matting_foreground_threshold,
        alpha_matting_background_threshold,
        alpha_matting_erode_size,
        only_mask,
        post_process_mask,
        decontaminate,
        bgcolor,
        args,
        kwargs,
    )


def download_models(models: Tuple[str, ...] = ()) -> None:
    """rembg's ``download_models``: fetch (or find) each model's file; all of rembg's local
    models that alphacut serves when none is named. An unknown name prints an error and exits 1,
    as rembg does; a model alphacut cannot serve, or a failed download, prints why."""
    if len(models) == 0:
        print("No models specified, downloading all models")
        models = tuple(
            n
            for n in sessions_names_downloadable
            if not issubclass(sessions[n], (_UnsupportedSession, _CustomFileSession))
        )
    for model in models:
        cls = sessions.get(model)
        if cls is None:
            print(f"Error: no model found: {model}")
            sys.exit(1)
        if not cls.is_local():
            print(f"Skipping {model}: remote backend, nothing to download")
            continue
        print(f"Downloading model: {model}")
        try:
            path = cls.download_models()
            print(f"  {model}: {path}")
        except (Error, ValueError, OSError) as e:
            print(f"Error downloading model: {e}")


# ---------------------------------------------------------------------------------------------
# The rembg_compat chain of a Pipeline
# ---------------------------------------------------------------------------------------------


def rembg_preprocess(rgb: np.ndarray, spec: InputSpec) -> np.ndarray:
    """rembg's ``BaseSession.normalize``: PIL LANCZOS resize, divide by the resized image's own
    maximum, float64 ``(x − mean) / std``, NCHW float32."""
    from PIL import Image

    h, w = network_size(spec, rgb.shape[:2])
    im = Image.fromarray(rgb, "RGB").resize((w, h), Image.Resampling.LANCZOS)
    a = np.array(im)
    a = a / max(np.max(a), 1e-6)
    mean = np.asarray(spec.mean, np.float64)
    std = np.asarray(spec.std, np.float64)
    x = (a - mean) / std
    if spec.color.upper() == "BGR":
        x = x[:, :, ::-1]
    return np.expand_dims(x.transpose(2, 0, 1), 0).astype(np.float32)


def rembg_mask(prob_raw: np.ndarray, full_hw: Tuple[int, int]) -> np.ndarray:
    """rembg's u2net-family post-processing: per-image min-max stretch (no epsilon), truncation to
    uint8, PIL LANCZOS resize to the image size. Returns (H, W) uint8."""
    from PIL import Image

    pred = np.asarray(prob_raw, np.float32)
    ma, mi = np.max(pred), np.min(pred)
    if ma > mi:
        pred = (pred - mi) / (ma - mi)
    else:
        pred = np.zeros_like(pred)
    mask = Image.fromarray((pred * 255).astype("uint8"), mode="L")
    mask = mask.resize((full_hw[1], full_hw[0]), Image.Resampling.LANCZOS)
    return np.asarray(mask)


def raw_output(outputs: Dict[str, np.ndarray], spec: OutputSpec, output_names=None) -> np.ndarray:
    """The output map (h, w) float32 as rembg reads it: ``out[0][:, channel]`` squeezed, through
    a sigmoid for the models whose output is logits (BiRefNet), as rembg does before its stretch."""
    names = list(output_names or outputs.keys())
    key = spec.name or names[0]
    y = np.asarray(outputs[key])
    if y.ndim == 4:
        y = y[:, spec.channel]
    y = np.squeeze(y).astype(np.float32)
    if spec.activation == "sigmoid":
        y = 1 / (1 + np.exp(-y))
    return y


def plan(pipe: Pipeline, want_rgba: bool) -> List[Tuple[str, Any]]:
    """The stages of :class:`~alphacut.pipeline.Pipeline` with ``rembg_compat``: rembg's
    preprocessing, the network, its mask at full size, its naive cutout (host arrays only)."""
    from ..pipeline.pipeline import NetworkStage

    spec, runtime = pipe.manifest.input, pipe.runtime

    def preprocess(s: State) -> None:
        s.x = rembg_preprocess(s.rgb, spec)

    def read(s: State, outs) -> None:
        s.prob = raw_output(outs, pipe.manifest.output, runtime.output_names)
        s.info["rembg_compat"] = True

    def resize(s: State) -> None:
        assert s.prob is not None, "the network stage ran before"
        s.mask = rembg_mask(s.prob, s.rgb.shape[:2])
        s.alpha = s.mask.astype(np.float32) / 255.0

    def pack_naive(s: State) -> None:
        s.rgba = naive_cutout(s.rgb, s.mask)

    steps = [
        ("preprocess", preprocess),
        ("segment", NetworkStage(runtime, spec.name, lambda s: s.x, read)),
        ("resize", resize),
    ]
    if want_rgba:
        steps.append(("pack", pack_naive))
    return steps
