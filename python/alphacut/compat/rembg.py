"""Everything rembg-shaped, in one place: rembg's one-call :func:`remove` and
:func:`new_session` with its keywords, defaults and return types, its mask post-processing, and
its exact numbers (``rembg_compat``: LANCZOS resizes, the image divided by its own maximum,
float64 normalisation, a min-max stretch of the output, uint8 truncation and PIL's "naive"
cutout). The ``rembg`` drop-in distribution (compat/rembg/ in the repository) exposes this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from .. import image
from .. import ops
from ..errors import InputError, ModelError
from ..models.manifest import InputSpec, OutputSpec
from ..pipeline import CutoutResult, get_mode
from ..pipeline.network import network_size
from ..pipeline.stages import alpha_to_u8, foreground, pack
from ..session import DEFAULT_MODEL, Session, cached_session

if TYPE_CHECKING:
    from ..pipeline.pipeline import BatchItem, Pipeline, State

__all__ = [
    "new_session",
    "remove",
    "RemoveOptions",
    "remove_item",
    "remove_finish",
    "post_process",
    "rembg_preprocess",
    "rembg_mask",
    "raw_output",
    "plan",
]


def new_session(model_name: str = DEFAULT_MODEL, *args, **kwargs) -> Session:
    """rembg's ``new_session``: a :class:`~alphacut.Session` for ``model_name`` (default "u2netp").

    Sessions are cached per (model, runtime, precision, ...) and reused. Keyword arguments are
    those of :class:`~alphacut.Session`; rembg's ``sess_opts``/``providers`` are accepted and
    ignored."""
    kwargs.pop("sess_opts", None)
    kwargs.pop("providers", None)
    if args:
        raise InputError("new_session takes the model name and keyword arguments only")
    return cached_session(model_name, **kwargs)


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
    """The unclipped output map (h, w) float32 as rembg reads it: ``out[0][:, channel]`` squeezed."""
    names = list(output_names or outputs.keys())
    key = spec.name or names[0]
    y = np.asarray(outputs[key])
    if y.ndim == 4:
        y = y[:, spec.channel]
    return np.squeeze(y).astype(np.float32)


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
    opts = RemoveOptions(alpha_matting=alpha_matting, foreground_threshold=alpha_matting_foreground_threshold,
                         background_threshold=alpha_matting_background_threshold,
                         erode_size=alpha_matting_erode_size, only_mask=only_mask,
                         post_process_mask=post_process_mask, decontaminate=decontaminate, bgcolor=bgcolor,
                         putalpha=kwargs.pop("putalpha", False))
    compress_level = kwargs.pop("compress_level", 1)
    decoded = image.decode_image(data)
    rgb = decoded.rgb
    if session is None:
        session = new_session(DEFAULT_MODEL)

    if isinstance(session, Session):
        from ..pipeline.pipeline import run_batch

        res = run_batch([remove_item(session, rgb, opts)])[0]
        session.last_timings = res.timings
        session.last_result = res
        out_img = remove_finish(session, rgb, res, opts)
    else:
        masks = session.predict(Image.fromarray(rgb, "RGB"), *args, **kwargs)
        if not masks:
            raise ModelError("the session returned no mask")
        if alpha_matting and not only_mask:
            raise InputError("alpha_matting=True needs an alphacut Session (session=alphacut.new_session(...))")
        out_img = remove_finish(session, rgb, np.asarray(masks[0].convert("L")), opts)

    if ret == "pil":
        return out_img
    if ret == "ndarray":
        return np.asarray(out_img)
    return image.encode_png(np.asarray(out_img), compress_level=compress_level)


@dataclass(frozen=True)
class RemoveOptions:
    """The keywords of :func:`remove` that shape its result (rembg's names, shortened)."""

    alpha_matting: bool = False
    foreground_threshold: int = 240
    background_threshold: int = 10
    erode_size: int = 10
    only_mask: bool = False
    post_process_mask: bool = False
    decontaminate: bool = False
    bgcolor: Optional[Tuple[int, ...]] = None
    putalpha: bool = False


def remove_item(session: Session, rgb: np.ndarray, opts: RemoveOptions) -> BatchItem:
    """The pipeline run :func:`remove` makes on an (H, W, 3) uint8 image with an alphacut
    :class:`~alphacut.Session`: the plain mask, or with ``alpha_matting`` the refined cutout with
    rembg's trimap thresholds. Run it with :func:`alphacut.pipeline.pipeline.run_batch` (alone or
    batched with others) and hand the result to :func:`remove_finish`."""
    from ..pipeline.pipeline import BatchItem

    if opts.alpha_matting and not opts.only_mask:
        tm = _rembg_trimap_mode(session, opts.foreground_threshold, opts.background_threshold, opts.erode_size)
        long_side = max(rgb.shape[:2])
        mode = get_mode(session.mode, fg_threshold=tm["fg_threshold"], bg_threshold=tm["bg_threshold"],
                        band=tm["erode_px"] / float(long_side), min_band_px=0 if tm["erode_px"] == 0 else 1)
        return BatchItem(session.pipeline.with_mode(mode, rembg_compat=False), rgb, refine=True, foreground=True)
    return BatchItem(session.pipeline, rgb, rgba=False, refine=False, foreground=False)


def remove_finish(session, rgb: np.ndarray, result, opts: RemoveOptions):
    """:func:`remove`'s output image (PIL, "RGBA", or "L" with ``only_mask``) from the run of
    :func:`remove_item` (a :class:`~alphacut.pipeline.CutoutResult`) or a rembg session's (H, W)
    uint8 mask: the mask post-processing, the cutout and the background colour."""
    from PIL import Image

    rgba: Optional[np.ndarray] = None
    if isinstance(result, CutoutResult):
        if opts.alpha_matting and not opts.only_mask:
            mask, rgba = None, result.rgba
        else:
            mask = alpha_to_u8(result.alpha)
    else:
        mask = np.asarray(result, np.uint8)
    if rgba is not None:
        out_img = Image.fromarray(rgba, "RGBA")
    elif mask is not None:
        if opts.post_process_mask:
            mask = post_process(mask)
        if opts.only_mask:
            out_img = Image.fromarray(mask, "L")
        elif opts.putalpha:
            out_img = Image.fromarray(np.dstack([rgb, mask]), "RGBA")
        elif opts.decontaminate:
            a = mask.astype(np.float32) / 255.0
            out_img = Image.fromarray(pack(rgb, a, foreground(rgb, a)), "RGBA")
        elif isinstance(session, Session) and not session.rembg_compat:
            out_img = Image.fromarray(ops.pack_rgba(rgb, mask), "RGBA")
        else:
            out_img = Image.fromarray(naive_cutout(rgb, mask), "RGBA")
    else:
        raise ModelError("the run gave neither a mask nor a cutout")

    if opts.bgcolor is not None and not opts.only_mask:
        colour = image.parse_color(opts.bgcolor, channels=4)
        out_img = Image.alpha_composite(Image.new("RGBA", out_img.size, colour), out_img)
    return out_img


# ---------------------------------------------------------------------------------------------
# The rembg_compat chain of a Pipeline
# ---------------------------------------------------------------------------------------------


def plan(pipe: "Pipeline", want_rgba: bool) -> List[Tuple[str, Any]]:
    """The stages of :class:`~alphacut.pipeline.Pipeline` with ``rembg_compat``: rembg's
    preprocessing, the network, its mask at full size, its naive cutout (host arrays only)."""
    from ..pipeline.pipeline import NetworkStage

    spec, runtime = pipe.manifest.input, pipe.runtime

    def preprocess(s: "State") -> None:
        s.x = rembg_preprocess(s.rgb, spec)

    def read(s: "State", outs) -> None:
        s.prob = raw_output(outs, pipe.manifest.output, runtime.output_names)
        s.info["rembg_compat"] = True

    def resize(s: "State") -> None:
        s.mask = rembg_mask(s.prob, s.rgb.shape[:2])
        s.alpha = s.mask.astype(np.float32) / 255.0

    def pack_naive(s: "State") -> None:
        s.rgba = naive_cutout(s.rgb, s.mask)

    steps = [("preprocess", preprocess), ("segment", NetworkStage(runtime, spec.name, lambda s: s.x, read)),
             ("resize", resize)]
    if want_rgba:
        steps.append(("pack", pack_naive))
    return steps


def naive_cutout(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """rembg's ``naive_cutout``: ``Image.composite(img, transparent, mask)`` (colour scaled by the
    mask, as PIL's composite does)."""
    from PIL import Image

    img = Image.fromarray(rgb, "RGB")
    return np.asarray(Image.composite(img, Image.new("RGBA", img.size, 0), Image.fromarray(mask, "L")))
