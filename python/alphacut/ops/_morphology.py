"""Binary morphology: ``dilate`` and ``erode`` with the square (2r+1) x (2r+1) element."""

from __future__ import annotations

import numpy as np

from .. import device as _device
from . import _dispatch, _validate

_MASK_DTYPES = (np.bool_, np.uint8, np.float32, np.float64)


def _mask(mask) -> np.ndarray:
    mask = _validate.image(mask, "mask", channels=(1,), dtypes=_MASK_DTYPES)
    return _validate.packed(mask)


def _morph(name: str, mask, radius, backend: str):
    radius = min(_validate.nonneg_int(radius, "radius"), 2**31 - 1)
    if _device.any_device(mask):  # bool / uint8 / float device arrays, read in place
        b, (m,) = _device.prepare(backend, mask)
        return _dispatch.native(name, b)(m, radius)
    m = _mask(mask)
    return _dispatch.native(name, _dispatch.resolve(backend))(m, radius)


def dilate(mask, radius: int, *, backend: str = "auto") -> np.ndarray:
    """Binary dilation with the square (2r+1) x (2r+1) structuring element.

    ``out[y, x] = any(set[y', x'] for |y' - y| <= r, |x' - x| <= r)``, where pixels outside the
    image count as background, so nothing grows in from the border. The cost per pixel does not
    depend on ``radius`` (bit-packed rows, van Herk / Gil-Werman columns).

    Parameters
    ----------
    mask : (H, W) bool, uint8 (non-zero = set), or float32 / float64 (>= 0.5 = set)
    radius : int >= 0
        Half the side of the square; 0 returns the thresholded mask. Radii larger than the image
        are allowed.
    backend : {"auto", "cpu", "cuda", "emu"}, keyword-only
        Device arrays (``__cuda_array_interface__`` / DLPack) run on the device in place and
        the result stays there.

    Returns
    -------
    (H, W) bool: NumPy, or a device array when ``mask`` is one.

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> m = np.zeros((5, 5), bool); m[2, 2] = True
    >>> int(ops.dilate(m, 1).sum())
    9
    """
    return _morph("dilate", mask, radius, backend)


def erode(mask, radius: int, *, backend: str = "auto") -> np.ndarray:
    """Binary erosion with the square (2r+1) x (2r+1) structuring element.

    ``out[y, x] = all(set[y', x'] for |y' - y| <= r, |x' - x| <= r)``, where pixels outside the
    image count as foreground, so erosion does not eat the image border (scipy's
    ``binary_erosion(..., border_value=1)``). The cost per pixel does not depend on ``radius``.

    Parameters
    ----------
    mask : (H, W) bool, uint8 (non-zero = set), or float32 / float64 (>= 0.5 = set)
    radius : int >= 0
        Half the side of the square; 0 returns the thresholded mask.
    backend : {"auto", "cpu", "cuda", "emu"}, keyword-only
        Device arrays (``__cuda_array_interface__`` / DLPack) run on the device in place and
        the result stays there.

    Returns
    -------
    (H, W) bool: NumPy, or a device array when ``mask`` is one.

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> m = np.ones((5, 5), bool); m[2, 2] = False
    >>> int(ops.erode(m, 1).sum())
    16
    """
    return _morph("erode", mask, radius, backend)
