"""Decoding any image input to (H, W, 3) uint8 RGB, the pixel limit checked from the header first.

:func:`decode_image` accepts a path, bytes, a binary file-like object, a PIL image or a NumPy array,
applies the EXIF orientation, and converts every mode (grey, RGBA, palette, 16-bit, CMYK, ...) to
(H, W, 3) uint8 RGB. An input alpha channel is dropped from the pixels but kept in
:attr:`DecodedImage.alpha`. The pixel count is checked against :func:`alphacut.config.max_pixels`
from the file header, **before** any pixel is decoded (:class:`ImageTooLargeError`).
"""

from __future__ import annotations

import io as _io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Union

import numpy as np

from .. import config
from ..errors import DecodeError, InputError

__all__ = ["DecodedImage", "ImageTooLargeError", "decode_image"]


class ImageTooLargeError(InputError):
    """The image has more pixels than ``config.max_pixels()`` allows."""


@dataclass
class DecodedImage:
    """A decoded image.

    Attributes
    ----------
    rgb : (H, W, 3) uint8, EXIF orientation applied.
    alpha : (H, W) uint8 or None
        The input's own alpha channel (RGBA, LA, palette transparency), if it had one.
    info : dict
        ``format`` (e.g. "JPEG", or "ndarray"/"PIL"), ``mode`` (the source mode), ``size`` (H, W) as
        decoded, ``orientation`` (the EXIF orientation tag that was applied, 1 when none),
        ``bits`` (8 or 16).
    """

    rgb: np.ndarray
    alpha: Optional[np.ndarray] = None
    info: Dict[str, Any] = field(default_factory=dict)


_ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, Any]


def check_pixels(h: int, w: int, what: str = "image", max_pixels: Optional[int] = None) -> None:
    """Refuse an image of ``h`` × ``w`` pixels above ``max_pixels`` (default
    :func:`alphacut.config.max_pixels`) (:class:`ImageTooLargeError`) or without pixels
    (:class:`DecodeError`)."""
    limit = config.max_pixels() if max_pixels is None else int(max_pixels)
    if h <= 0 or w <= 0:
        raise DecodeError(f"{what}: image has no pixels (size {w}x{h})")
    if h * w > limit:
        hint = " (raise ALPHACUT_MAX_PIXELS to accept it)" if max_pixels is None else ""
        raise ImageTooLargeError(f"{what}: image is {w}x{h} = {h * w:,} pixels, above the limit of {limit:,}{hint}")


def _describe(src) -> str:
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"<{len(src)} bytes>"
    return f"<{type(src).__name__}>"


def decode_image(
    src: _ImageSource, *, max_pixels: Optional[int] = None, check: Optional[Callable[[int, int], Any]] = None
) -> DecodedImage:
    """Decode an image to (H, W, 3) uint8 RGB.

    Parameters
    ----------
    src : path, bytes, binary file-like object, ``PIL.Image.Image`` or ``numpy.ndarray``
        Arrays: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); uint8, uint16 (scaled by 255/65535),
        bool, or float in [0, 1].
    max_pixels : int, optional
        The largest image accepted (default :func:`alphacut.config.max_pixels`); a server passes
        its own limit here.
    check : callable, optional
        ``check(height, width)`` is called once the size is known from the header, before any
        pixel is decoded (a memory check: :func:`alphacut.pipeline.memory.check_memory`); what it
        raises propagates.

    Returns
    -------
    DecodedImage
        ``rgb`` (H, W, 3) uint8; ``alpha`` (H, W) uint8 when the input carried one.

    Raises
    ------
    DecodeError
        Empty, corrupt or truncated data, or not an image at all.
    ImageTooLargeError
        More than ``max_pixels`` pixels; checked from the header before decoding.
    InputError
        Arrays of an unsupported shape or dtype, or with NaN.
    """
    from PIL import Image

    if isinstance(src, np.ndarray):
        return _from_array(src)
    if isinstance(src, Image.Image):
        check_pixels(src.height, src.width, "image", max_pixels)
        if check is not None:
            check(src.height, src.width)
        return _from_pil(src, "PIL", "image")
    what = _describe(src)
    if isinstance(src, (str, os.PathLike)):
        p = Path(src)
        if not p.is_file():
            raise DecodeError(f"{what}: no such file")
        if p.stat().st_size == 0:
            raise DecodeError(f"{what}: the file is empty")
        with open(p, "rb") as fh:
            return _from_stream(fh, what, max_pixels, check)
    if isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) == 0:
            raise DecodeError("the image data is empty (0 bytes)")
        return _from_stream(_io.BytesIO(bytes(src)), what, max_pixels, check)
    if hasattr(src, "read"):
        return _from_stream(src, what, max_pixels, check)
    raise InputError(
        f"cannot read an image from {type(src).__name__}: pass a path, bytes, a file object, "
        "a PIL image or a NumPy array"
    )


def _open_lazy(fh, what: str, max_pixels: Optional[int] = None):
    """``Image.open`` reads only the header: the size is known before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    limit = config.max_pixels() if max_pixels is None else int(max_pixels)
    if Image.MAX_IMAGE_PIXELS is not None and limit > Image.MAX_IMAGE_PIXELS:
        # Pillow's own bomb check would refuse what the user allowed; alphacut checks instead.
        Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fh)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"{what}: {exc} (the limit is {limit:,} pixels; raise ALPHACUT_MAX_PIXELS to accept it)"
        ) from None
    except UnidentifiedImageError:
        raise DecodeError(f"{what}: not a recognised image format (corrupt data, or not an image)") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - every plug-in failure (RuntimeError, NotImplementedError, ...)
        raise DecodeError(f"{what}: cannot read the image header ({exc})") from None
    return im


def _from_stream(fh, what: str, max_pixels: Optional[int] = None, check=None) -> DecodedImage:
    start = _tell(fh)
    im = _open_lazy(fh, what, max_pixels)
    try:
        check_pixels(im.height, im.width, what, max_pixels)
        if check is not None:
            check(im.height, im.width)
        fast = _from_jpeg_fast(fh, start, im, what)
        if fast is not None:
            return fast
        return _from_pil(im, im.format or "unknown", what)
    finally:
        im.close()


def _tell(fh) -> Optional[int]:
    try:
        return int(fh.tell()) if fh.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def _from_jpeg_fast(fh, start: Optional[int], im, what: str) -> Optional[DecodedImage]:
    """A JPEG that Pillow opened as RGB or L, decoded by libjpeg-turbo directly
    (:mod:`alphacut.image.jpeg_fast`: the same pixels as Pillow's); None to decode through Pillow."""
    from . import jpeg_fast

    if start is None or im.format != "JPEG" or not jpeg_fast.available():
        return None
    try:
        fh.seek(start)
        data = fh.read()
    except (OSError, ValueError):
        return None
    rgb = jpeg_fast.decode_rgb(data, im.mode)
    if rgb is None or rgb.shape[:2] != (im.height, im.width):
        return None
    orientation = _orientation(im)
    rgb = np.ascontiguousarray(jpeg_fast.orient(rgb, orientation))
    info = {"format": "JPEG", "mode": im.mode, "size": rgb.shape[:2], "orientation": orientation, "bits": 8}
    icc = im.info.get("icc_profile")
    if icc:
        info["icc_profile"] = bytes(icc)  # as _from_pil: carried to the output by the encoders
    return DecodedImage(rgb, None, info)


_EXIF_ORIENTATION = 0x0112


def _orientation(im) -> int:
    """The EXIF orientation tag (1 when absent; a broken EXIF block is not a broken image)."""
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    except Exception:  # noqa: BLE001
        return 1


def _from_pil(im, fmt: str, what: str) -> DecodedImage:
    from PIL import Image, ImageOps

    try:
        im.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{what}: {exc}") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt AVIF raises RuntimeError, DDS/BLP NotImplementedError
        raise DecodeError(f"{what}: the image data is corrupt or truncated ({exc})") from None
    orientation = _orientation(im)
    if orientation != 1:
        try:
            im = ImageOps.exif_transpose(im)
        except Exception as exc:  # noqa: BLE001
            raise DecodeError(f"{what}: cannot apply the EXIF orientation {orientation} ({exc})") from None
    mode = im.mode
    bits = 8
    alpha = None
    try:
        if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            a = np.asarray(im)
            if a.dtype != np.uint16:
                a = a.astype(np.int64)
                if a.min() < 0 or a.max() > 65535:
                    raise DecodeError(f"{what}: 32-bit integer images are not supported")
            bits = 16
            g = _scale16(a)
            rgb = np.repeat(g[:, :, None], 3, axis=2)
        elif mode == "F":
            a = np.asarray(im, dtype=np.float32)
            if not np.isfinite(a).all():
                raise DecodeError(f"{what}: float image contains NaN or infinite values")
            if a.max() <= 1.0:
                a = a * 255.0
            g = np.clip(np.rint(a), 0, 255).astype(np.uint8)
            rgb = np.repeat(g[:, :, None], 3, axis=2)
        else:
            has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                mode in ("P", "L", "RGB") and "transparency" in im.info
            )
            if has_alpha:
                rgba = np.asarray(im.convert("RGBA"))
                rgb = np.ascontiguousarray(rgba[:, :, :3])
                alpha = np.ascontiguousarray(rgba[:, :, 3])
            elif mode == "RGB":
                rgb = np.asarray(im)
            else:
                rgb = np.asarray(im.convert("RGB"))
    except DecodeError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DecodeError(f"{what}: cannot convert mode {mode} to RGB ({exc})") from None
    if not rgb.flags.writeable:
        rgb = rgb.copy()
    info = {
        "format": fmt,
        "mode": mode,
        "size": rgb.shape[:2],
        "orientation": orientation,
        "bits": bits,
    }
    icc = im.info.get("icc_profile")
    if icc:
        info["icc_profile"] = bytes(icc)  # carried to the output by the encoders
    return DecodedImage(np.ascontiguousarray(rgb), alpha, info)


def _scale16(a: np.ndarray) -> np.ndarray:
    """0..65535 → 0..255 rounded (v·255/65535), not clipped and not truncated to the high byte."""
    return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _from_array(a: np.ndarray) -> DecodedImage:
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InputError(f"image: expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"image: the array is empty (shape {a.shape})")
    check_pixels(a.shape[0], a.shape[1], "image")
    bits = 8
    if a.dtype == np.uint8:
        u8 = a
    elif a.dtype == np.uint16:
        u8 = _scale16(a)
        bits = 16
    elif a.dtype == np.bool_:
        u8 = a.astype(np.uint8) * 255
    elif a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise InputError("image: contains NaN or infinite values")
        if a.min() < 0 or a.max() > 1:
            raise InputError(f"image: float images must lie in [0, 1], got [{float(a.min()):g}, {float(a.max()):g}]")
        u8 = np.rint(a * 255.0).astype(np.uint8)
    else:
        raise InputError(f"image: dtype {a.dtype} is not supported (use uint8, uint16, bool or float in [0, 1])")
    alpha = None
    if u8.ndim == 2:
        rgb = np.repeat(u8[:, :, None], 3, axis=2)
    elif u8.shape[2] == 4:
        rgb = np.ascontiguousarray(u8[:, :, :3])
        alpha = np.ascontiguousarray(u8[:, :, 3])
    else:
        rgb = np.ascontiguousarray(u8)
    info = {
        "format": "ndarray",
        "mode": f"{a.dtype}{a.shape[2:] or ''}",
        "size": rgb.shape[:2],
        "orientation": 1,
        "bits": bits,
    }
    return DecodedImage(rgb, alpha, info)
