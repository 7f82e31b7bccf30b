"""Full-resolution alpha from a low-resolution one: fast guided upsampling (He & Sun 2015)."""

from __future__ import annotations

import numpy as np

from .. import device as _device
from ..errors import InputError
from . import _dispatch, _validate
from ._guided_filter import VALUE_BOUND, eps_param, radius_param


def _native_input(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return _validate.packed(x)
    return _validate.packed(_validate.to_float01(x))


def upscale_alpha(
    alpha_low, guide_full, radius: int = 1, eps: float = 1e-4, *, rgba: bool = False, backend: str = "auto"
):
    """Upscale a matte to the guide's resolution, following the guide's edges.

    Fast guided upsampling (He & Sun, "Fast Guided Filter", 2015):

    1. area-average ``guide_full`` down to ``alpha_low``'s size ``(h, w)`` (each low-resolution
       pixel is the mean of the full-resolution area it covers, as ``cv2.INTER_AREA``);
    2. at ``(h, w)``, the guided-filter coefficients of :func:`guided_filter` with that guide,
       ``src = alpha_low``, ``radius`` and ``eps``: ``mean(a)`` (per guide channel) and ``mean(b)``;
    3. interpolate ``mean(a)`` and ``mean(b)`` bilinearly to ``(H, W)`` (pixel-centre aligned:
       full-resolution pixel ``x`` samples ``(x + 0.5) * w / W - 0.5``, clamped at the edges) and
       output ``clip(mean(a) . I + mean(b), 0, 1)`` with ``I`` the full-resolution guide.

    Step 3 is one fused pass over the full-resolution pixels.

    Parameters
    ----------
    alpha_low : (h, w) array
        uint8 (scaled by 1/255) or float in [0, 1].
    guide_full : (H, W, 3) or (H, W) array
        uint8 (scaled by 1/255) or float in [0, 1], with ``H >= h`` and ``W >= w``.
    radius : int, default 1
        Guided-filter radius at the *low* resolution.
    eps : float, default 1e-4
        Guided-filter regularisation, in [1e-12, 1e30]. The defaults gave the lowest error against the true
        alpha of the shared composites when upscaling a 320 x 320 downscale of it.
    rgba : bool, default False, keyword-only
        Also the cutout: ``(alpha, rgba)`` with ``rgba`` what :func:`pack_rgba` (no foreground)
        makes of ``guide_full`` and ``alpha``, each row packed while it is in cache (one pass
        over the full-resolution image instead of two). CPU only (``backend`` "auto" or "cpu",
        NumPy arrays), with an (H, W, 3) uint8 guide.
    backend : {"auto", "cpu", "cuda", "emu"}, keyword-only
        Device arrays (``__cuda_array_interface__`` / DLPack) are read in place and the
        result stays on the device.

    Returns
    -------
    (H, W) float32 in [0, 1]: NumPy, or a device array when an input is one. With ``rgba``,
    ``(alpha, rgba)``.

    Raises
    ------
    alphacut.InputError
        Empty or NaN-containing images, wrong channels or dtype, ``alpha_low`` larger than the
        guide, a negative radius, ``eps`` outside [1e-12, 1e30].

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> guide = np.zeros((8, 8, 3), np.uint8); guide[:, 4:] = 255  # an edge between x = 3 and 4
    >>> low = np.array([[0, 0.2, 0.8, 1]] * 4, np.float32)          # a soft edge at half size
    >>> ops.upscale_alpha(low, guide)[0].round(2)  # the jump follows the guide's edge
    array([0.1 , 0.11, 0.13, 0.2 , 0.8 , 0.87, 0.89, 0.9 ], dtype=float32)
    """
    device = _device.any_device(alpha_low, guide_full)
    if rgba:
        if device or _dispatch.resolve(backend) != "cpu":
            raise InputError("upscale_alpha(rgba=True) runs on the CPU with NumPy arrays; on a device use pack_rgba")
        g = np.asarray(guide_full)
        if g.dtype != np.uint8 or g.ndim != 3 or g.shape[2] != 3:
            raise InputError(f"upscale_alpha(rgba=True) needs an (H, W, 3) uint8 RGB guide, got {g.shape} {g.dtype}")
    if not device:
        alpha_low = _validate.bounded(_validate.image(alpha_low, "alpha_low", channels=(1,)), "alpha_low", VALUE_BOUND)
        guide_full = _validate.bounded(
            _validate.image(guide_full, "guide_full", channels=(1, 3)), "guide_full", VALUE_BOUND
        )
    else:  # uint8 / float32 device arrays, read in place; the result stays on the device
        be, (alpha_low, guide_full) = _device.prepare(backend, alpha_low, guide_full)
        for x, name, ndims in ((alpha_low, "alpha_low", (2,)), (guide_full, "guide_full", (2, 3))):
            if len(_device.shape(x)) not in ndims:
                raise InputError(
                    f"{name}: expected {' or '.join(f'{n}-D' for n in ndims)} device array, got shape "
                    f"{_device.shape(x)}"
                )
    radius = radius_param(radius)
    eps = eps_param(eps)
    (h, w), (H, W) = _device.shape(alpha_low)[:2], _device.shape(guide_full)[:2]
    if h > H or w > W:
        raise InputError(
            f"alpha_low has size {(h, w)}, larger than guide_full {(H, W)}; upscale_alpha only upscales "
            "(resize the alpha down first, or pass the full-resolution image as the guide)"
        )
    if device:
        return _dispatch.native("upscale_alpha", be)(alpha_low, guide_full, radius, eps)
    if rgba:
        return _dispatch.native("upscale_alpha_rgba", "cpu")(
            _native_input(alpha_low), _native_input(guide_full), radius, eps
        )
    fn = _dispatch.native("upscale_alpha", _dispatch.resolve(backend))
    return fn(_native_input(alpha_low), _native_input(guide_full), radius, eps)
