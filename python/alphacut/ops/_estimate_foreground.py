"""Foreground colour estimation: ``estimate_foreground``.

Multi-level foreground estimation (Germer, Uelwer, Conrad, Harmeling 2020, "Fast Multi-Level
Foreground Estimation"), the method of pymatting's ``estimate_foreground_ml``, in native code.
"""

from __future__ import annotations

import numpy as np

from .. import device as _device
from . import _dispatch, _validate

# Levels with more pixels than this are swept only in a band around the soft edge, in parallel
# (red-black Gauss-Seidel); smaller ones sweep every pixel in scan order, as pymatting does.
_BAND_MIN_PIXELS = 1 << 16
# estimate_foreground_rgba bands (and sweeps in parallel strips) from 4,096 pixels: on the ten
# shared composites, at their size and upscaled 3.5x, the foreground error is 1 % lower than with
# 65,536 and the cutout takes ~20 % less CPU (the scan-order levels are sequential).
_RGBA_BAND_MIN_PIXELS = 1 << 12


def _host_alpha(alpha, img: np.ndarray) -> np.ndarray:
    """A NumPy alpha the size of ``img``: uint8 as it is, else float32 checked to lie in [0, 1];
    packed."""
    a = _validate.image(alpha, "alpha", channels=(1,), dtypes=(np.uint8, np.float32, np.float64, np.bool_))
    _validate.same_size(img, a, "image", "alpha")
    if a.dtype != np.uint8:
        a = _validate.to_float01(a)
        if a.dtype.kind == "f" and ((a < 0) | (a > 1)).any():
            raise _validate.InputError(
                f"alpha: values must lie in [0, 1], got [{a.min():g}, {a.max():g}]; scale 8-bit mattes by 1/255"
            )
    return _validate.packed(a)


def estimate_foreground(
    image,
    alpha,
    *,
    regularization: float = 1e-5,
    n_small_iterations: int = 10,
    n_big_iterations: int = 2,
    small_size: int = 32,
    gradient_weight: float = 1.0,
    return_background: bool = False,
    backend: str = "auto",
):
    """Estimate the foreground colour F (and background B) behind a soft alpha matte.

    A cutout made from the input colours keeps a halo of the old background wherever
    ``0 < alpha < 1``; laying ``F`` over a new background does not. Each channel's F and B
    satisfy the compositing equation ``I = alpha * F + (1 - alpha) * B`` in the least-squares
    sense, with smoothness between 4-neighbours weighted by the alpha gradient: per pixel,

        minimise  (a F + (1 - a) B - I)^2 + sum_n w_n ((F - F_n)^2 + (B - B_n)^2),
        w_n = regularization + gradient_weight * |a - a_n|,

    solved coarse to fine over ``ceil(log2(max(H, W))) + 1`` levels of size
    ``round(size ** (i / n))`` (nearest-neighbour resampling), with a few Gauss-Seidel sweeps of
    the 2x2 per-pixel system per level: ``n_small_iterations`` on levels no larger than
    ``small_size`` in both dimensions, ``n_big_iterations`` on the others. The coarsest level
    starts from the mean colour where ``alpha > 0.9`` (F) and ``alpha < 0.1`` (B).

    Levels up to 65,536 pixels sweep every pixel in scan order, exactly as pymatting's
    ``estimate_foreground_ml``. Larger levels (the work at photo sizes) sweep, in parallel
    red-black order, only a band one pixel wide around the pixels whose update can change
    anything (``0 < alpha < 1``, or a neighbour with a different alpha). Outside it, pixels with
    ``alpha == 1`` get ``F = image`` (what the update converges to there) and pixels with
    ``alpha == 0`` get ``B = image``; everywhere else outside the band the coarser level's
    solution is kept. So with ``alpha == 1`` F is the image; with ``alpha == 0`` F is the
    estimator's extrapolation from the neighbouring foreground (smooth, coarse, and of no
    consequence when the result is composited with that alpha). On levels swept in full the
    same holds up to the regularization (|F - image| ~ 1e-5 where ``alpha == 1``).

    On the GPU backends (``"cuda"``, and its CPU emulation ``"emu"``) every level is swept in
    red-black order, since scan order is sequential; the banded large levels are the same as on
    the CPU, the levels up to 65,536 pixels are not, so F differs from the CPU result by a
    small amount in the soft region (1e-3 to 6e-3 mean on the test photographs, see
    csrc/ops/README.md) with about the same error against the true foreground (within a few
    percent), and is identical where ``alpha == 1`` away from the edge. Device arrays (``__cuda_array_interface__`` or DLPack, uint8 or
    float32) are used in place and the result stays on the device; their values are not
    range-checked.

    Parameters
    ----------
    image : (H, W, 3) uint8, or float32/float64 in [0, 1]; or a uint8/float32 device array
    alpha : (H, W) uint8, bool, or float32/float64 in [0, 1]; or a uint8/float32 device array
    regularization : float, default 1e-5
        Smoothness weight added for every neighbour, in [1e-30, 1e15]. Larger gives smoother colours.
    n_small_iterations : int, default 10
        Sweeps on the small levels (both sides <= ``small_size``).
    n_big_iterations : int, default 2
        Sweeps on the other levels.
    small_size : int, default 32
    gradient_weight : float, default 1.0
        Smoothness weight per unit of alpha difference between neighbours, in [0, 1e15].
    return_background : bool, default False
        Also return the estimated background B.
    backend : {"auto", "cpu", "cuda", "emu"}, keyword-only

    Returns
    -------
    F : (H, W, 3) float32 in [0, 1]
        Or ``(F, B)``, both (H, W, 3) float32, with ``return_background=True``. Device arrays
        when an input was a device array.

    Raises
    ------
    alphacut.InputError
        Empty, mismatched or wrongly shaped inputs, unsupported dtypes, NaN, alpha outside
        [0, 1], or parameters out of range.

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> image = np.zeros((4, 4, 3), np.uint8); image[:, :2] = 255
    >>> alpha = np.zeros((4, 4), np.uint8); alpha[:, :2] = 255; alpha[:, 2] = 128
    >>> F = ops.estimate_foreground(image, alpha)
    >>> F.shape, F.dtype, round(float(F[0, 0, 0]), 4)
    ((4, 4, 3), dtype('float32'), 1.0)
    """
    if _device.any_device(image, alpha):  # uint8 / float32 device arrays, used in place
        b, (img, a) = _device.prepare(backend, image, alpha)
        params = _params(regularization, gradient_weight, n_small_iterations, n_big_iterations, small_size)
        return _dispatch.native("estimate_foreground", b)(
            img, a, return_background=bool(return_background), band_min_pixels=_BAND_MIN_PIXELS, **params
        )
    img = _validate.image(image, "image", channels=(3,), dtypes=(np.uint8, np.float32, np.float64))
    a = _host_alpha(alpha, img)
    if img.dtype != np.uint8:
        img = _validate.to_float01(img)
        if img.size and (img.min() < 0 or img.max() > 1):
            raise _validate.InputError(
                f"image: values must lie in [0, 1], got [{img.min():g}, {img.max():g}]; scale 8-bit images by 1/255"
            )
    img = _validate.packed(img)
    params = _params(regularization, gradient_weight, n_small_iterations, n_big_iterations, small_size)
    fn = _dispatch.native("estimate_foreground", _dispatch.resolve(backend))
    return fn(img, a, return_background=bool(return_background), band_min_pixels=_BAND_MIN_PIXELS, **params)


def estimate_foreground_rgba(
    image,
    alpha,
    *,
    regularization: float = 1e-5,
    n_small_iterations: int = 10,
    n_big_iterations: int = 2,
    small_size: int = 32,
    gradient_weight: float = 1.0,
    out=None,
    window=None,
    backend: str = "auto",
):
    """The (H, W, 4) uint8 cutout of ``image`` and ``alpha`` with the estimated foreground colour
    on the soft pixels: :func:`alphacut.ops.pack_rgba` of :func:`estimate_foreground`'s F, in one
    call.

    ``A = round(255 * alpha)``; the colour is 0 where ``A == 0``, the image where ``A == 255`` and
    ``round(255 * F)`` on the soft pixels, F estimated as by :func:`estimate_foreground` with the
    same parameters. On the CPU no full-size F or B is made: the finest level is solved in strips
    around the soft edge and written straight into the cutout, and its band is swept in longer
    runs (runs fewer than 9 pixels apart are swept as one, which only adds pixels that
    whole-image sweeps update too). Levels from 4,096 pixels are banded (65,536 in
    :func:`estimate_foreground`): the scan-order levels are sequential, and on the shared
    composites the banded ones give a 1 % lower foreground error. On the GPU backends it is
    :func:`estimate_foreground` followed by :func:`alphacut.ops.pack_rgba`.

    Parameters
    ----------
    image : (H, W, 3) uint8 (or a uint8 device array)
    alpha : (H, W) float32 in [0, 1] or uint8 (or a device array of either)
    regularization, n_small_iterations, n_big_iterations, small_size, gradient_weight
        As for :func:`estimate_foreground`.
    out, window : (H, W, 4) uint8 array and (y0, y1, x0, x1), optional, CPU only, together
        A tile of a larger cutout: ``out`` already holds the packed cutout of ``image`` and
        ``alpha`` (:func:`alphacut.ops.pack_rgba` without a foreground; e.g. a view into the
        whole cutout), and only the colour of its soft pixels inside ``window`` is written, in
        place; the pixels around the window are the estimate's context.
    backend : {"auto", "cpu", "cuda", "emu"}, keyword-only

    Returns
    -------
    (H, W, 4) uint8 (a device array when an input was one); None with ``out``.

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> image = np.zeros((4, 4, 3), np.uint8); image[:, :2] = 255
    >>> alpha = np.zeros((4, 4), np.float32); alpha[:, :2] = 1; alpha[:, 2] = 0.5
    >>> rgba = ops.estimate_foreground_rgba(image, alpha)
    >>> rgba.shape, rgba[0, 0].tolist(), int(rgba[0, 2, 3]), rgba[0, 3].tolist()
    ((4, 4, 4), [255, 255, 255, 255], 128, [0, 0, 0, 0])
    """
    params = _params(regularization, gradient_weight, n_small_iterations, n_big_iterations, small_size)
    b = _device.prepare(backend, image, alpha)[0] if _device.any_device(image, alpha) else _dispatch.resolve(backend)
    if (out is None) != (window is None):
        raise _validate.InputError("out and window go together: a tile (window) of a packed cutout (out)")
    if out is not None and b != "cpu":
        raise _validate.InputError(f"out/window are for the CPU backend only, not {b!r}")
    if b != "cpu":
        from ._pack_rgba import pack_rgba

        a = alpha
        if not _device.any_device(alpha):
            a = _validate.to_float01(_validate.image(alpha, "alpha", channels=(1,), dtypes=(np.uint8, np.float32)))
        f = estimate_foreground(image, a, backend=b, **params)
        return pack_rgba(image, a, foreground=f, backend=b)
    img = _validate.packed(_validate.image(image, "image", channels=(3,), dtypes=(np.uint8,)))
    a = _host_alpha(alpha, img)
    fn = _dispatch.native("estimate_foreground_rgba", "cpu")
    if out is None:
        return fn(img, a, band_min_pixels=_RGBA_BAND_MIN_PIXELS, **params)
    if not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.shape != (*img.shape[:2], 4):
        raise _validate.InputError(
            f"out must be a uint8 array of shape {(*img.shape[:2], 4)}, got "
            f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
        )
    try:
        y0, y1, x0, x1 = (_validate.integer(v, "window", 0, None) for v in window)
    except (TypeError, ValueError):
        raise _validate.InputError(f"window must be (y0, y1, x0, x1), got {window!r}") from None
    fn(img, a, out=out, window=(y0, y1, x0, x1), band_min_pixels=_RGBA_BAND_MIN_PIXELS, **params)
    return None


# The per-pixel 2x2 system is float32: its determinant is ~W^2 with W up to 4 * (regularization +
# gradient_weight), and 1 / det must stay finite (W >= 4 * regularization).
REGULARIZATION_RANGE = (1e-30, 1e15)
GRADIENT_WEIGHT_RANGE = (0.0, 1e15)


def _params(regularization, gradient_weight, n_small_iterations, n_big_iterations, small_size) -> dict:
    regularization = _validate.number(regularization, "regularization", *REGULARIZATION_RANGE)
    gradient_weight = _validate.number(gradient_weight, "gradient_weight", *GRADIENT_WEIGHT_RANGE)
    n_small_iterations = _validate.nonneg_int(n_small_iterations, "n_small_iterations")
    n_big_iterations = _validate.nonneg_int(n_big_iterations, "n_big_iterations")
    small_size = _validate.nonneg_int(small_size, "small_size")
    for name, v in (
        ("n_small_iterations", n_small_iterations),
        ("n_big_iterations", n_big_iterations),
        ("small_size", small_size),
    ):
        if v >= 2**31:
            raise _validate.InputError(f"{name} is too large: {v}")
    return dict(
        regularization=regularization,
        n_small_iterations=n_small_iterations,
        n_big_iterations=n_big_iterations,
        small_size=small_size,
        gradient_weight=gradient_weight,
    )
