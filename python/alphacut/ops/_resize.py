"""Resampling: ``resize`` with bilinear, area (box average) and bicubic kernels."""

from __future__ import annotations

import numpy as np

from .. import device as _device
from ..errors import InputError
from . import _dispatch, _validate

METHODS = {"bilinear": 0, "area": 1, "bicubic": 2, "triangle": 3}


def resize(image, size, method: str = "bilinear", *, backend: str = "auto") -> np.ndarray:
    """Resample an image to ``size = (H', W')``; separable and multithreaded.

    The sampling grid is that of OpenCV and PIL (pixel centres): a destination pixel ``d`` maps to
    ``src = (d + 0.5) * scale - 0.5`` with ``scale = src_size / dst_size``; taps outside the image
    are clamped to the edge pixel.

    - ``"bilinear"``: ``(1 - f) * I[s] + f * I[s + 1]`` per axis, as ``cv2.INTER_LINEAR`` (no
      anti-aliasing when shrinking).
    - ``"area"``: exact box average: destination pixel ``d`` covers ``[d * scale, (d + 1) * scale)``
      of the source, each source pixel weighs its overlap (``cv2.INTER_AREA``; when enlarging this
      reduces to overlap-weighted nearest).
    - ``"bicubic"``: Keys cubic convolution with ``a = -0.75`` on taps ``s - 1 .. s + 2``, as
      ``cv2.INTER_CUBIC`` (not PIL's ``a = -0.5``); float32 results may overshoot the input range.
    - ``"triangle"``: antialiased bilinear, PIL's ``Image.BILINEAR``: the tent filter widened to
      the scale when shrinking (every source pixel within ``max(scale, 1)`` of the centre
      weighs in), plain bilinear when enlarging. uint8 results agree with PIL's within 1 (PIL
      rounds to uint8 between its two passes, this does not).

    Parameters
    ----------
    image : (H, W) or (H, W, C) uint8 or float32 (values within +-1e38), C in 1..16
    size : (int, int)
        Target ``(height, width)``, both positive.
    method : {"bilinear", "area", "bicubic", "triangle"}, default "bilinear"
    backend : {"auto", "cpu", "cuda", "emu"}, keyword-only
        A device array ``image`` is resampled on the device and the result stays there.

    Returns
    -------
    (H', W') or (H', W', C), the dtype of ``image``; uint8 is rounded half up and saturated.

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> ops.resize(np.array([[0, 100], [200, 100]], np.uint8), (1, 1), "area").tolist()
    [[100]]
    """
    if _device.any_device(image):
        return _resize_device(image, size, method, backend)
    image = _validate.array(image, "image")
    if image.ndim == 3 and not 1 <= image.shape[2] <= 16:
        raise InputError(f"image: expected 1 to 16 channels, got shape {image.shape}")
    keep_channel_axis = image.ndim == 3  # (H, W, 1) in gives (H', W', 1) out
    image = _validate.image(image, "image", channels=tuple(range(1, 17)), dtypes=(np.uint8, np.float32))
    # Bicubic taps overshoot by up to 1.9x (|weights| sum to 1.375 per axis): keep float32 finite.
    image = _validate.bounded(image, "image", 1e38)
    h, w = _size(size, method)
    fn = _dispatch.native("resize", _dispatch.resolve(backend))
    out = fn(_validate.packed(image), int(h), int(w), METHODS[method])
    return out[:, :, None] if keep_channel_axis and out.ndim == 2 else out


def _size(size, method: str):
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    try:
        h, w = size
    except (TypeError, ValueError):
        raise InputError(f"size must be a (height, width) pair, got {size!r}") from None
    for v, name in ((h, "height"), (w, "width")):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0 or v >= 2**31:
            raise InputError(f"size: {name} must be a positive integer, got {v!r}")
    return int(h), int(w)


def _resize_device(image, size, method: str, backend: str):
    """A uint8 / float32 device array, resampled on the device; the result stays there."""
    h, w = _size(size, method)
    b, (img,) = _device.prepare(backend, image)
    shape = _device.shape(img)
    if len(shape) == 3 and not 1 <= shape[2] <= 16:
        raise InputError(f"image: expected 1 to 16 channels, got shape {shape}")
    return _dispatch.native("resize", b)(img, h, w, METHODS[method])
