"""JPEG decoding straight through libjpeg-turbo (``simplejpeg``), with Pillow's pixels.

Pillow decodes a baseline or progressive JPEG with libjpeg-turbo's accurate integer DCT and
fancy (smooth) chroma upsampling; :func:`decode_rgb` asks libjpeg-turbo for exactly that, without
Pillow's per-strip decode loop and its copy into a NumPy array, so the pixels are the same bits
(checked on every shared JPEG by the tests) for about a third of the time at 12 MP.

Only the plain cases take this path: a JPEG that Pillow opens as ``RGB`` or ``L`` (no CMYK /
YCCK). Anything else, anything libjpeg-turbo reports even a recoverable problem about (a
truncated or corrupt file: ``strict``), and every input when ``simplejpeg`` is not installed or
``ALPHACUT_FAST_JPEG=0``, returns None, and the caller decodes through Pillow as before, so its
errors and results are exactly Pillow's. The EXIF orientation is applied here as Pillow's
``ImageOps.exif_transpose`` does (the same flips and rotations, as NumPy views).
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

__all__ = ["available", "decode_rgb", "orient"]

try:  # pragma: no cover - depends on the environment
    import simplejpeg as _sj
except Exception:  # noqa: BLE001 - any import problem means: use Pillow
    _sj = None


def available() -> bool:
    """True when the libjpeg-turbo path is installed and not turned off (``ALPHACUT_FAST_JPEG=0``)."""
    return _sj is not None and os.environ.get("ALPHACUT_FAST_JPEG", "1").strip().lower() not in ("0", "off", "false")


def orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """``a`` (H, W[, C]) turned as Pillow's ``exif_transpose`` turns an image with that EXIF
    orientation (1..8); a view, or ``a`` itself for 1 or an unknown value."""
    if orientation == 2:  # FLIP_LEFT_RIGHT
        return a[:, ::-1]
    if orientation == 3:  # ROTATE_180
        return a[::-1, ::-1]
    if orientation == 4:  # FLIP_TOP_BOTTOM
        return a[::-1]
    if orientation == 5:  # TRANSPOSE
        return a.swapaxes(0, 1)
    if orientation == 6:  # ROTATE_270 (clockwise 90)
        return a.swapaxes(0, 1)[:, ::-1]
    if orientation == 7:  # TRANSVERSE
        return a.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:  # ROTATE_90 (counter-clockwise 90)
        return a.swapaxes(0, 1)[::-1]
    return a


def decode_rgb(data: bytes, mode: str) -> Optional[np.ndarray]:
    """(H, W, 3) uint8 RGB of the JPEG ``data`` that Pillow opened as ``mode``, as Pillow's
    ``np.asarray(im.convert("RGB"))`` would give (EXIF orientation not applied); None when this
    path does not apply or libjpeg-turbo reports any problem (the caller then uses Pillow)."""
    if not available() or mode not in ("RGB", "L"):
        return None
    try:
        if mode == "RGB":
            return _sj.decode_jpeg(data, colorspace="RGB", fastdct=False, fastupsample=False, strict=True)
        g = _sj.decode_jpeg(data, colorspace="GRAY", fastdct=False, fastupsample=False, strict=True)
    except Exception:  # noqa: BLE001 - Pillow decodes it again and reports its own error
        return None
    g = g.reshape(g.shape[0], g.shape[1])
    return np.repeat(g[:, :, None], 3, axis=2)
