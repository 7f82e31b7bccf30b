"""``pack_rgba``: uint8 RGB + float alpha -> uint8 RGBA, the final step of a cut-out."""

from __future__ import annotations

import numpy as np

from . import _device, _dispatch, _validate


def pack_rgba(image, alpha, *, backend: str = "auto", stream: int = 0):
    """Attach an alpha matte to an RGB image as a uint8 RGBA image.

    ``out[..., :3] = image``, ``out[..., 3] = round(255 * clip(alpha, 0, 1))`` (half up).

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB (NumPy or device array).
    alpha : (H, W) float in [0, 1] or uint8 (divided by 255); float32 for device arrays.
    backend : "auto", "cpu", "cuda" or "emu".
    stream : int, default 0 - a raw cudaStream_t for device arrays (0: a private stream).

    Returns
    -------
    (H, W, 4) uint8: NumPy, or a device array when an input is one.

    Example
    -------
    >>> import numpy as np, alphacut.ops.pack_rgba as pk
    >>> pk.pack_rgba(np.zeros((1, 2, 3), np.uint8), np.array([[0.5, 1.0]], np.float32))[0, :, 3]
    array([128, 255], dtype=uint8)
    """
    if _device.any_device(image, alpha):
        b, (img, a) = _device.prepare(backend, image, alpha)
        return _dispatch.native("pack_rgba", b)(img, a, stream=stream)
    img = _validate.packed(_validate.image(image, "image", channels=(3,), dtypes=(np.uint8,)))
    a = _validate.image(alpha, "alpha", channels=(1,))
    _validate.same_size(img, a, "image", "alpha")
    a = _validate.packed(_validate.to_float01(a))
    b = _dispatch.resolve(backend)
    fn = _dispatch.native("pack_rgba", b)
    return fn(img, a) if b == "cpu" else fn(img, a, stream=stream)
