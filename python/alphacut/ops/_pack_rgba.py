"""``pack_rgba``: uint8 RGB + float alpha [+ foreground colour] -> uint8 RGBA, the final step of
a cut-out (the native ``pack_rgba`` op, on every backend)."""

from __future__ import annotations

import numpy as np

from .. import device as _device
from ..errors import InputError
from . import _dispatch, _validate


def pack_rgba(image, alpha, *, foreground=None, offset=(0, 0), backend: str = "auto", stream: int = 0):
    """Attach an alpha matte to an RGB image as a straight-colour uint8 RGBA image.

    ``A = round(255 * clip(alpha, 0, 1))`` (half up); colour = 0 where ``A == 0``, the image
    where ``A == 255``, and on soft pixels ``round(255 * clip(foreground, 0, 1))`` inside the
    foreground's rectangle (else the image). See csrc/ops/pack_rgba/pack_rgba_pixel.hpp.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB (NumPy or device array).
    alpha : (H, W) float in [0, 1] or uint8 (divided by 255); float32 for device arrays.
    foreground : optional (h, w, 3) float32 in [0, 1], the estimated foreground colour of the
        rectangle starting at ``offset`` = (y0, x0): two integers >= 0, with the rectangle inside
        the image (ignored without a foreground).
    backend : "auto", "cpu", "cuda" or "emu".
    stream : int, default 0 - a raw cudaStream_t for device arrays (0: a private stream).

    Returns
    -------
    (H, W, 4) uint8: NumPy, or a device array when an input is one.

    Example
    -------
    >>> import numpy as np, alphacut.ops as pk
    >>> pk.pack_rgba(np.full((1, 3, 3), 9, np.uint8), np.array([[0.0, 0.5, 1.0]], np.float32))[0]
    array([[  0,   0,   0,   0],
           [  9,   9,   9, 128],
           [  9,   9,   9, 255]], dtype=uint8)
    """
    try:
        y0, x0 = offset
    except (TypeError, ValueError):
        raise InputError(f"offset must be (y0, x0), got {offset!r}") from None
    y0 = _validate.integer(y0, "offset y0", 0, None)
    x0 = _validate.integer(x0, "offset x0", 0, None)
    if foreground is None:
        y0 = x0 = 0  # no rectangle: the offset is not used
    if _device.any_device(image, alpha, foreground):
        b, (img, a, fg) = _device.prepare(backend, image, alpha, foreground, stream=stream)
        if fg is not None:
            _check_rectangle(_device.shape(img), _device.shape(fg), y0, x0)
        return _dispatch.native("pack_rgba", b)(img, a, fg, y0, x0, stream=stream)
    img = _validate.packed(_validate.image(image, "image", channels=(3,), dtypes=(np.uint8,)))
    a = _validate.image(alpha, "alpha", channels=(1,))
    _validate.same_size(img, a, "image", "alpha")
    a = _validate.packed(_validate.to_float01(a))
    fg = None
    if foreground is not None:
        fg = _validate.packed(_validate.to_float01(_validate.image(foreground, "foreground", channels=(3,))))
        _check_rectangle(img.shape, fg.shape, y0, x0)
    b = _dispatch.resolve(backend)
    fn = _dispatch.native("pack_rgba", b)
    return fn(img, a, fg, y0, x0) if b == "cpu" else fn(img, a, fg, y0, x0, stream=stream)


def _check_rectangle(image_shape, fg_shape, y0: int, x0: int) -> None:
    """The foreground's rectangle at (y0, x0) must lie inside the image (Python ints: no overflow)."""
    if len(image_shape) < 2 or len(fg_shape) < 2:
        return  # a device array of the wrong rank: the native op says what is wrong
    (h, w), (fh, fw) = image_shape[:2], fg_shape[:2]
    if y0 + fh > h or x0 + fw > w:
        raise InputError(
            f"offset {(y0, x0)}: the foreground rectangle ({fh}, {fw}) at that offset is outside the image ({h}, {w})"
        )
