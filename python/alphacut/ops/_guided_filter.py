"""The guided filter (He, Sun & Tang 2010/2013): edge-preserving smoothing of ``src`` steered by
``guide``."""

from __future__ import annotations

import numpy as np

from .. import device as _device
from . import _dispatch, _validate


def _native_input(x: np.ndarray) -> np.ndarray:
    """uint8 stays uint8 (the native code scales it by 1/255 on the fly); the rest becomes float32."""
    if x.dtype == np.uint8:
        return _validate.packed(x)
    return _validate.packed(_validate.to_float01(x))


# Float inputs beyond this magnitude could overflow float32 where the filter extrapolates
# (|mean(a)| grows to ~1 / sqrt(eps)); images are meant to be in [0, 1].
VALUE_BOUND = 1e30

# eps outside this range breaks the 3 x 3 solve of a colour guide in double: below, a guide whose
# channels are (nearly) equal in a window loses eps to rounding and the determinant cancels to 0;
# above, det ~ eps^3 overflows long before 1e100.
EPS_RANGE = (1e-12, 1e30)


def radius_param(radius) -> int:
    """A radius >= 0; one wider than any image is the whole image, so it is clamped to int32."""
    return min(_validate.nonneg_int(radius, "radius"), _validate.INT32_MAX)


def eps_param(eps) -> float:
    return _validate.number(eps, "eps", *EPS_RANGE)


def _prepare(guide, src, radius, eps):
    guide = _validate.bounded(_validate.image(guide, "guide", channels=(1, 3)), "guide", VALUE_BOUND)
    src = _validate.bounded(_validate.image(src, "src", channels=(1,)), "src", VALUE_BOUND)
    _validate.same_size(guide, src, "guide", "src")
    radius = radius_param(radius)
    eps = eps_param(eps)
    return _native_input(guide), _native_input(src), radius, eps


def _call(name: str, guide, src, radius, eps, backend: str):
    if _device.any_device(guide, src):  # uint8 / float32 device arrays, read in place
        radius = radius_param(radius)
        eps = eps_param(eps)
        b, (g, p) = _device.prepare(backend, guide, src)
        _device.check_same_size(g, p, "guide", "src")
        return _dispatch.native(name, b)(g, p, radius, eps)
    g, p, radius, eps = _prepare(guide, src, radius, eps)
    return _dispatch.native(name, _dispatch.resolve(backend))(g, p, radius, eps)


def guided_filter(guide, src, radius: int, eps: float, *, backend: str = "auto") -> np.ndarray:
    """Filter ``src`` with the guided filter, using ``guide`` for the edges.

    With box means ``mean(.)`` over the ``(2r+1) x (2r+1)`` window clipped to the image (each
    divided by the number of pixels inside it, no padding):

    * grey guide ``I``: ``a = cov(I, p) / (var(I) + eps)``, ``b = mean(p) - a * mean(I)``;
    * colour guide ``I``: ``(Sigma + eps * U) a = cov(I, p)`` with ``Sigma`` the 3 x 3 covariance
      of the guide's channels in the window, ``b = mean(p) - a . mean(I)``;

    and the output ``q = mean(a) . I + mean(b)``.

    Parameters
    ----------
    guide : (H, W) or (H, W, 3) array
        uint8 (scaled by 1/255) or float in [0, 1].
    src : (H, W) array
        The image to filter (typically an alpha matte): uint8 (scaled by 1/255) or float, within
        +-1e30 (as the guide).
    radius : int
        Window radius ``r`` >= 0; the window is ``2r + 1`` pixels wide. A radius larger than the
        image is allowed (the window is the whole image).
    eps : float
        Regularisation in [1e-12, 1e30], in units of the guide's variance (e.g. ``1e-3`` for
        ``0.03**2``); outside it a colour guide's 3 x 3 solve breaks down in double precision.
    backend : {"auto", "cpu", "cuda", "emu"}, keyword-only
        See :func:`alphacut.ops.available_backends`. Device arrays (``__cuda_array_interface__``
        / DLPack) are read in place and the result stays on the device.

    Returns
    -------
    (H, W) float32. Its error against a float64 evaluation of the formula is below 1e-4 for
    data in [0, 1] (sums are accumulated in double).

    Raises
    ------
    alphacut.InputError
        Empty, NaN-containing or mismatched images, wrong channel count or dtype, a negative or
        non-integer radius, ``eps`` outside [1e-12, 1e30].

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> guide = np.zeros((4, 6), np.float32); guide[:, 3:] = 1
    >>> noisy = guide + np.float32(0.1) * np.array([1, -1, 1, -1, 1, -1], np.float32)
    >>> out = ops.guided_filter(guide, noisy, 1, 1e-2)
    >>> bool(abs(out - guide).max() < abs(noisy - guide).max())
    True
    """
    return _call("guided_filter", guide, src, radius, eps, backend)


def guided_filter_coefficients(guide, src, radius: int, eps: float, *, backend: str = "auto"):
    """The box-averaged coefficients ``(mean(a), mean(b))`` of :func:`guided_filter`.

    ``guided_filter(guide, src, r, eps) == (mean_a * I).sum(-1) + mean_b`` with ``I`` the guide as
    (H, W, C) float in [0, 1]. Useful to apply one filter to several images of the same scene or
    to interpolate the coefficients to another resolution (see :func:`upscale_alpha`).

    Returns
    -------
    mean_a : (H, W, C) float32, C = the guide's channels (1 or 3)
    mean_b : (H, W) float32
    """
    return _call("guided_filter_coefficients", guide, src, radius, eps, backend)
