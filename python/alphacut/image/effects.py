"""Finishing a cutout: crop to the subject, a soft drop shadow, a background image fitted to it.

All take and return (H, W, 4) uint8 straight-alpha cutouts.

- :func:`subject_box` / :func:`crop_to_subject`: the bounding box of the pixels with α > 0, and
  the cutout cropped to it with a margin (pixels or a percentage of the box's longer side); the
  margin may reach past the image, where it is transparent.
- :func:`drop_shadow`: the alpha blurred (Gaussian), offset and darkened, laid under the cutout.
- :func:`fit_background` / :func:`over`: a background image scaled to ``cover`` (fill, cropped
  centred), ``contain`` (whole, centred, transparent bars) or ``stretch``, and the cutout laid
  over it ("over" compositing, straight alpha).
"""

from __future__ import annotations

import re
from typing import Optional, Tuple, Union

import numpy as np

from ..errors import InputError

__all__ = ["FITS", "parse_margin", "subject_box", "crop_to_subject", "drop_shadow", "fit_background", "over"]

FITS = ("cover", "contain", "stretch")
Box = Tuple[int, int, int, int]  # y0, y1, x0, x1 (end exclusive)


def _rgba(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 4 or 0 in a.shape:
        raise InputError(f"{name}: expected an (H, W, 4) uint8 cutout, got {a.shape} {a.dtype}")
    return a


def parse_margin(value: Union[str, int, float, None]) -> Tuple[float, bool]:
    """``"12"``/``12`` → (12, False) pixels; ``"5%"`` → (0.05, True), a fraction of the box's longer side."""
    if value is None:
        return 0.0, False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v, pct = float(value), False
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(%|px)?\s*", str(value))
        if not m:
            raise InputError(f"--margin: expected pixels (e.g. 20) or a percentage (e.g. 5%), got {value!r}")
        v, pct = float(m.group(1)), m.group(2) == "%"
        if pct:
            v /= 100.0
    if v < 0 or not np.isfinite(v):
        raise InputError(f"--margin must be >= 0, got {value!r}")
    return v, pct


def subject_box(alpha: np.ndarray, threshold: int = 0) -> Optional[Box]:
    """(y0, y1, x0, x1) of the pixels with α > ``threshold`` (end exclusive), None when there are none."""
    a = np.asarray(alpha)
    if a.ndim == 3:
        a = a[:, :, 3]
    on = a > threshold
    rows = np.flatnonzero(on.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(on.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def crop_to_subject(
    rgba: np.ndarray, margin: Union[str, int, float, None] = 0, *, threshold: int = 0
) -> Tuple[np.ndarray, Optional[Box]]:
    """The cutout cropped to its subject's box grown by ``margin`` on every side.

    Returns ``(cropped, box)`` where ``box`` is the (y0, y1, x0, x1) taken, in the input's
    coordinates (it may reach outside the image: that part is transparent). With no subject
    (α = 0 everywhere) the cutout comes back unchanged with ``box`` None."""
    rgba = _rgba(rgba, "crop_to_subject")
    box = subject_box(rgba[:, :, 3], threshold)
    if box is None:
        return rgba, None
    v, pct = parse_margin(margin)
    y0, y1, x0, x1 = box
    m = int(round(v * max(y1 - y0, x1 - x0))) if pct else int(round(v))
    Y0, Y1, X0, X1 = y0 - m, y1 + m, x0 - m, x1 + m
    h, w = rgba.shape[:2]
    out = np.zeros((Y1 - Y0, X1 - X0, 4), np.uint8)
    sy0, sy1, sx0, sx1 = max(Y0, 0), min(Y1, h), max(X0, 0), min(X1, w)
    out[sy0 - Y0 : sy1 - Y0, sx0 - X0 : sx1 - X0] = rgba[sy0:sy1, sx0:sx1]
    return out, (Y0, Y1, X0, X1)


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an (H, W) uint8 plane (Pillow's, in C)."""
    from PIL import Image, ImageFilter

    if sigma <= 0:
        return a
    return np.asarray(Image.fromarray(a, "L").filter(ImageFilter.GaussianBlur(radius=float(sigma))))


def drop_shadow(
    rgba: np.ndarray,
    *,
    offset: Optional[Tuple[int, int]] = None,
    blur: Optional[float] = None,
    opacity: float = 0.5,
    color=(0, 0, 0),
) -> np.ndarray:
    """The cutout over a soft shadow of itself, as product photos use.

    The shadow is the alpha shifted by ``offset`` (dy, dx) pixels, blurred with a Gaussian of
    standard deviation ``blur`` and scaled by ``opacity``, in ``color``. Defaults scale with the
    subject: offset (2 %, 1 %) and blur 1.5 % of the subject box's longer side. The canvas keeps its
    size (crop with a margin first to leave the shadow room)."""
    from .encode import parse_color

    rgba = _rgba(rgba, "drop_shadow")
    if not 0.0 <= opacity <= 1.0:
        raise InputError(f"shadow opacity must be in [0, 1], got {opacity!r}")
    box = subject_box(rgba[:, :, 3])
    if box is None:
        return rgba
    side = max(box[1] - box[0], box[3] - box[2])
    dy, dx = offset if offset is not None else (int(round(0.02 * side)), int(round(0.01 * side)))
    sigma = 0.015 * side if blur is None else float(blur)
    h, w = rgba.shape[:2]
    a = rgba[:, :, 3]
    shifted = np.zeros_like(a)
    ys, yd = (slice(0, max(h - dy, 0)), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, max(w - dx, 0)), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    shifted[yd, xd] = a[ys, xs]
    sa = _blur(shifted, sigma).astype(np.float32) * np.float32(opacity / 255.0)
    layer = np.empty_like(rgba)
    layer[:, :, :3] = np.asarray(parse_color(color), np.uint8)
    layer[:, :, 3] = np.clip(sa * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return over(rgba, layer)


def fit_background(image: np.ndarray, shape: Tuple[int, int], fit: str = "cover") -> np.ndarray:
    """An (H, W, 4) uint8 background layer of ``shape`` (H, W) from an RGB or RGBA image.

    ``cover``: scaled to fill, the excess cropped equally from both sides; ``contain``: scaled to
    fit whole, centred, the bars transparent; ``stretch``: resized to the shape, ignoring the aspect."""
    from PIL import Image

    if fit not in FITS:
        raise InputError(f"--fit must be one of {', '.join(FITS)}, got {fit!r}")
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] not in (3, 4) or img.dtype != np.uint8:
        raise InputError(f"background: expected an (h, w, 3|4) uint8 image, got {img.shape} {img.dtype}")
    if img.shape[2] == 3:
        img = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    H, W = int(shape[0]), int(shape[1])
    h, w = img.shape[:2]
    pil = Image.fromarray(img, "RGBA")
    if fit == "stretch":
        return np.asarray(pil.resize((W, H), Image.Resampling.BILINEAR))
    if fit == "cover":
        s = max(H / h, W / w)
        # the source window whose scaled size is exactly (H, W), centred
        cw, ch = W / s, H / s
        left, top = (w - cw) / 2.0, (h - ch) / 2.0
        return np.asarray(pil.resize((W, H), Image.Resampling.BILINEAR, box=(left, top, left + cw, top + ch)))
    s = min(H / h, W / w)
    nw, nh = max(1, min(W, int(round(w * s)))), max(1, min(H, int(round(h * s))))
    out = np.zeros((H, W, 4), np.uint8)
    y0, x0 = int(round((H - nh) / 2)), int(round((W - nw) / 2))
    out[y0 : y0 + nh, x0 : x0 + nw] = np.asarray(pil.resize((nw, nh), Image.Resampling.BILINEAR))
    return out


def over(fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Porter-Duff "over" of two straight-alpha (H, W, 4) uint8 layers: ``fg`` over ``bg``."""
    fg = _rgba(fg, "over")
    bg = _rgba(bg, "over")
    if fg.shape != bg.shape:
        raise InputError(f"over: layers differ in shape {fg.shape} vs {bg.shape}")
    af = fg[:, :, 3:4].astype(np.float32) * np.float32(1 / 255)
    ab = bg[:, :, 3:4].astype(np.float32) * np.float32(1 / 255)
    ao = af + ab * (1.0 - af)
    num = fg[:, :, :3].astype(np.float32) * af + bg[:, :, :3].astype(np.float32) * (ab * (1.0 - af))
    rgb = np.divide(num, ao, out=np.zeros_like(num), where=ao > 0)
    out = np.empty_like(fg)
    out[:, :, :3] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    out[:, :, 3] = np.clip(ao[:, :, 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out
