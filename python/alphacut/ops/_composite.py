"""Compositing: ``composite``, ``premultiply`` and ``unpremultiply``."""

from __future__ import annotations

import numpy as np

from .. import device as _device
from . import _dispatch, _validate


def _prep(image, alpha, name="image"):
    image = _validate.image(image, name, channels=(1, 3, 4))
    alpha = _validate.image(alpha, "alpha", channels=(1,))
    _validate.same_size(image, alpha, name, "alpha")
    img = _validate.packed(_validate.to_float01(image))
    a = _validate.packed(_validate.to_float01(alpha))
    if img.ndim == 2:
        img = img[:, :, None]
    return img, a


def composite(foreground, alpha, background, *, backend: str = "auto") -> np.ndarray:
    """Blend ``alpha * foreground + (1 - alpha) * background``.

    Parameters
    ----------
    foreground : (H, W, C) uint8 or float in [0, 1]
    alpha : (H, W) uint8 or float in [0, 1]
    background : (H, W, C) image, or a colour: a sequence of C values in [0, 1]
        (or 0..255 when ``foreground`` is uint8).

    Returns
    -------
    (H, W, C) float32 in [0, 1], on every backend; (H, W, 1) for a single-channel image.

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> float(ops.composite(np.ones((2, 2, 3), np.float32), np.full((2, 2), 0.25, np.float32), (0, 0, 0))[0, 0, 0])
    0.25
    """
    if _device.any_device(foreground, alpha, background):  # float32 device arrays, used in place
        b, (fg, a, bg) = _device.prepare(backend, foreground, alpha, background)
        return _dispatch.native("composite", b)(fg, a, bg)
    fg_u8 = np.asarray(foreground).dtype == np.uint8
    fg, a = _prep(foreground, alpha, "foreground")
    if isinstance(background, (str, bytes)):
        raise _validate.InputError(
            f"background must be an image or a colour ({fg.shape[2]} numbers), got {background!r}"
        )
    if isinstance(background, (tuple, list)) or (isinstance(background, np.ndarray) and background.ndim == 1):
        try:
            colour = np.asarray(background, dtype=np.float64)
        except (TypeError, ValueError):
            raise _validate.InputError(f"background colour must be {fg.shape[2]} numbers, got {background!r}") from None
        if not np.isfinite(colour).all() or (np.abs(colour) > _validate.FLOAT32_MAX).any():
            raise _validate.InputError(f"background colour must be finite float32 numbers, got {background!r}")
        colour = colour.astype(np.float32)
        if colour.shape != (fg.shape[2],):
            raise _validate.InputError(f"background colour must have {fg.shape[2]} values, got {tuple(colour.shape)}")
        if fg_u8:
            colour = colour / 255.0
        bg = np.broadcast_to(colour, fg.shape).copy()
    else:
        bg = _validate.image(background, "background", channels=(1, 3, 4))
        _validate.same_size(fg, bg, "foreground", "background")
        bg = _validate.to_float01(bg)
        if bg.ndim == 2:
            bg = bg[:, :, None]
        if bg.shape[2] != fg.shape[2]:
            raise _validate.InputError(f"background has {bg.shape[2]} channels but foreground has {fg.shape[2]}")
        bg = _validate.packed(bg)
    fn = _dispatch.native("composite", _dispatch.resolve(backend))
    return _keep_channel_axis(fn(fg, a, bg))


def _keep_channel_axis(out: np.ndarray) -> np.ndarray:
    """(H, W, C) on every backend: the CPU entry points drop the axis of one channel."""
    return out[:, :, None] if out.ndim == 2 else out


def premultiply(image, alpha, *, backend: str = "auto") -> np.ndarray:
    """``alpha * image`` as float32 (H, W, C) in [0, 1]."""
    if _device.any_device(image, alpha):
        b, (img, a) = _device.prepare(backend, image, alpha)
        return _dispatch.native("premultiply", b)(img, a)
    img, a = _prep(image, alpha)
    return _keep_channel_axis(_dispatch.native("premultiply", _dispatch.resolve(backend))(img, a))


def unpremultiply(image, alpha, *, backend: str = "auto") -> np.ndarray:
    """``image / alpha`` (0 where alpha is 0), clamped to [0, 1], as float32 (H, W, C)."""
    if _device.any_device(image, alpha):
        b, (img, a) = _device.prepare(backend, image, alpha)
        return _dispatch.native("unpremultiply", b)(img, a)
    img, a = _prep(image, alpha)
    return _keep_channel_axis(_dispatch.native("unpremultiply", _dispatch.resolve(backend))(img, a))
