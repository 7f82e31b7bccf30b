"""Trimap from a foreground probability: sure foreground, sure background and the unknown band."""

from __future__ import annotations

import numpy as np

from .. import device as _device
from ..errors import InputError
from . import _dispatch, _validate

FOREGROUND, UNKNOWN, BACKGROUND = 255, 128, 0


def make_trimap(
    prob,
    fg_threshold: float = 0.95,
    bg_threshold: float = 0.05,
    radius: int = 10,
    *,
    backend: str = "auto",
) -> np.ndarray:
    """Label every pixel sure foreground (255), sure background (0) or unknown (128).

    ``sure_fg = erode(prob >= fg_threshold, radius)``,
    ``sure_bg = erode(prob <= bg_threshold, radius)``, unknown = the rest, where ``erode`` is
    :func:`alphacut.ops.erode` (square (2r+1)^2 element, outside the image counts as set, so the
    image border is not eaten). Thresholds, both erosions and the labelling run fused in one
    native pass pair, without full-size temporaries per step.

    Parameters
    ----------
    prob : (H, W) float32 / float64 in [0, 1], or uint8 (compared as ``float32(prob) / 255``)
        float32 input is compared with ``float32(threshold)``, float64 with the float64 value.
    fg_threshold : float, default 0.95
    bg_threshold : float, default 0.05
        Must satisfy ``0 <= bg_threshold < fg_threshold <= 1``.
    radius : int >= 0, default 10
    backend : {"auto", "cpu", "cuda", "emu"}, keyword-only
        A device array ``prob`` runs on the device in place and the trimap stays there.

    Returns
    -------
    (H, W) uint8 with values in {0, 128, 255}: NumPy, or a device array when ``prob`` is one.

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> p = np.zeros((1, 8), np.float32); p[0, 4:] = 1
    >>> ops.make_trimap(p, radius=1).tolist()
    [[0, 0, 0, 128, 128, 255, 255, 255]]
    """
    device = _device.any_device(prob)
    if not device:
        prob = _validate.image(prob, "prob", channels=(1,), dtypes=(np.uint8, np.float32, np.float64))
    fg = _threshold(fg_threshold, "fg_threshold")
    bg = _threshold(bg_threshold, "bg_threshold")
    # float64 prob compares with the float64 thresholds, float32 and uint8 with float32 ones
    # (5e-324 and 0 are distinct doubles but the same float32).
    wide = (_device.interface(prob)["typestr"] == "<f8") if device else prob.dtype == np.float64
    if not (bg < fg if wide else np.float32(bg) < np.float32(fg)):
        raise InputError(
            f"bg_threshold ({bg_threshold!r}) must be below fg_threshold ({fg_threshold!r})"
            + ("" if wide else " as float32 (the precision of a float32 or uint8 prob)")
            + "; swap them or narrow the range"
        )
    radius = _validate.nonneg_int(radius, "radius")
    if device:  # read in place; the trimap stays on the device
        b, (p,) = _device.prepare(backend, prob)
        return _dispatch.native("make_trimap", b)(p, fg, bg, min(radius, 2**31 - 1))
    fn = _dispatch.native("make_trimap", _dispatch.resolve(backend))
    return fn(_validate.packed(prob), fg, bg, min(radius, 2**31 - 1))


def _threshold(v, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number in [0, 1], got {v!r}") from None
    if not 0.0 <= f <= 1.0:  # also rejects NaN
        raise InputError(f"{name} must be in [0, 1], got {v!r}")
    return f
