"""Network-input preprocessing: ``preprocess`` (resize + normalise + HWC -> NCHW, one pass)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import device as _device
from ..errors import InputError
from . import _dispatch, _validate

# std below this is a float32 subnormal (or 0): the division loses its precision (or flushes).
_STD_MIN = 1e-30


def _three(v, name: str) -> np.ndarray:
    """3 finite float32 numbers from one number or a sequence of 3."""
    if isinstance(v, (str, bytes)):
        raise InputError(f"{name} must be 3 finite numbers (or one), got {v!r}")
    a: Optional[np.ndarray]
    try:
        a = np.asarray(v, dtype=np.float64)
        a = np.broadcast_to(a, (3,)) if a.ndim <= 1 else None
    except (TypeError, ValueError):
        a = None
    if a is None or not np.isfinite(a).all():
        raise InputError(f"{name} must be 3 finite numbers (or one), got {v!r}")
    if (np.abs(a) > _validate.FLOAT32_MAX).any():
        raise InputError(f"{name} must be finite as float32 (|{name}| <= {_validate.FLOAT32_MAX:.4g}), got {v!r}")
    return a


def _params(size, scale, mean, std, channel_order, dtype):
    try:
        out_h, out_w = size
    except (TypeError, ValueError):
        raise InputError(f"size must be (height, width), got {size!r}") from None
    out_h = _validate.integer(out_h, "size: height", 1)
    out_w = _validate.integer(out_w, "size: width", 1)
    scale = _validate.number(scale, "scale", -_validate.FLOAT32_MAX, _validate.FLOAT32_MAX)
    mean, std = _three(mean, "mean"), _three(std, "std")
    if (std < _STD_MIN).any():
        raise InputError(f"std must be at least {_STD_MIN:g}, got {tuple(std)}")
    if channel_order not in ("rgb", "bgr"):
        raise InputError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float16):
        raise InputError(f"dtype must be float32 or float16, got {dtype!r}")
    # The outputs (v * scale - mean) / std for v in [0, 255] must fit the output type (float32
    # arithmetic; float16 overflows to inf past 65504).
    limit = float(np.finfo(dt).max) if dt == np.float16 else 1e38
    reach = float(np.max(np.maximum(np.abs(0.0 * scale - mean), np.abs(255.0 * scale - mean)) / std))
    if abs(255.0 * scale) > 1e38 or not reach <= limit:
        raise InputError(
            f"scale, mean and std give outputs up to {reach:.3g} in magnitude (v * scale - mean) / std for v in "
            f"[0, 255], beyond {dt.name}'s range ({limit:g})"
        )
    return out_h, out_w, scale, [float(v) for v in mean], [float(v) for v in std], channel_order == "bgr"


def preprocess(
    image,
    size,
    *,
    scale: float = 1.0 / 255.0,
    mean=(0.0, 0.0, 0.0),
    std=(1.0, 1.0, 1.0),
    channel_order: str = "rgb",
    dtype="float32",
    backend: str = "auto",
    stream: int = 0,
):
    """Resize, normalise and lay out an image as a network input, in one pass.

    ``out[0, c, y, x] = (bilinear(image)[y, x, k] * scale - mean[c]) / std[c]`` where ``k = c``
    (``channel_order="rgb"``) or ``k = 2 - c`` (``"bgr"``). Bilinear sampling aligns pixel
    centres (``src = (dst + 0.5) * in / out - 0.5``, clamped at the edges), like
    ``cv2.resize(..., interpolation=cv2.INTER_LINEAR)`` without antialiasing.

    Parameters
    ----------
    image : (H, W, 3) or (H, W, 4) uint8 RGB(A), a NumPy array or a device array
        (``__cuda_array_interface__``); the fourth channel is ignored.
    size : (out_h, out_w)
    scale : float, default 1/255 - applied to the raw 0..255 values.
    mean, std : 3 floats (or one), per output channel; defaults 0 and 1.
    channel_order : "rgb" (default) or "bgr" - the order the network wants.
    dtype : "float32" (default) or "float16" (IEEE half, round to nearest even).
    backend : "auto", "cpu", "cuda" or "emu".
    stream : int, default 0 - a raw cudaStream_t for device arrays (0: a private stream).

    Returns
    -------
    (1, 3, out_h, out_w) array of ``dtype``: NumPy, or a device array when ``image`` is one.

    Example
    -------
    >>> import numpy as np, alphacut.ops as pp
    >>> x = pp.preprocess(np.full((4, 6, 3), 255, np.uint8), (2, 3), mean=0.5, std=0.5)
    >>> x.shape, float(x[0, 0, 0, 0])
    ((1, 3, 2, 3), 1.0)
    """
    out_h, out_w, scale, mean, std, swap = _params(size, scale, mean, std, channel_order, dtype)
    fp16 = np.dtype(dtype) == np.float16
    if _device.is_device_array(image):
        b, (img,) = _device.prepare(backend, image, stream=stream)
        return _dispatch.native("preprocess", b)(img, out_h, out_w, scale, mean, std, swap, fp16, stream=stream)
    img = _checked_image(image)
    b = _dispatch.resolve(backend)
    fn = _dispatch.native("preprocess", b)
    if b == "cpu":
        return fn(img, out_h, out_w, scale, mean, std, swap, fp16)
    return fn(img, out_h, out_w, scale, mean, std, swap, fp16, stream=stream)


def preprocess_into(
    out,
    image,
    *,
    scale=1.0 / 255.0,
    mean=(0.0, 0.0, 0.0),
    std=(1.0, 1.0, 1.0),
    channel_order="rgb",
    backend: str = "auto",
    stream: int = 0,
):
    """:func:`preprocess` written into ``out``, a C-contiguous, writable (1, 3, H, W) float32 or
    float16 array - NumPy for ``backend="cpu"``, a device array (e.g. a TensorRT input binding
    held by CuPy/PyTorch) for ``"cuda"``. The output size is ``out``'s (H, W). ``image`` must not
    share memory with ``out`` (it would be overwritten while it is read). Returns ``out``."""
    if _device.is_device_array(out):
        b, (out_view,) = _device.prepare(backend, out, stream=stream)
        cai = _device.interface(out_view)
        shape = tuple(cai["shape"])
        if len(shape) != 4 or shape[:2] != (1, 3):
            raise InputError(f"out: expected a (1, 3, H, W) array, got shape {shape}")
        if cai["data"][1]:
            raise InputError("out: device array is read-only")
        dtype = {"<f4": "float32", "<f2": "float16"}.get(cai["typestr"])
        if dtype is None:
            raise InputError(f"out: dtype must be float32 or float16, got {cai['typestr']!r}")
        _, _, scale, mean, std, swap = _params(shape[2:], scale, mean, std, channel_order, dtype)
        if _device.is_device_array(image):
            _, (image,) = _device.prepare(b, image, stream=stream)
            if _overlap(_byte_range(cai), _byte_range(_device.interface(image))):
                raise InputError("image overlaps out: preprocess_into would overwrite the image while reading it")
        else:
            image = _checked_image(image)
        _dispatch.native("preprocess_into", b)(out_view, image, scale, mean, std, swap, stream=stream)
        return out
    if not isinstance(out, np.ndarray) or out.ndim != 4 or out.shape[:2] != (1, 3):
        raise InputError(f"out: expected a (1, 3, H, W) NumPy or device array, got {getattr(out, 'shape', out)!r}")
    if out.dtype not in (np.float32, np.float16):
        raise InputError(f"out: dtype must be float32 or float16, got {out.dtype}")
    if not out.flags.c_contiguous:
        raise InputError("out: must be C-contiguous")
    if not out.flags.writeable:
        raise InputError("out: array is read-only")
    _, _, scale, mean, std, swap = _params(out.shape[2:], scale, mean, std, channel_order, out.dtype)
    b = _dispatch.resolve(backend)
    img = _checked_image(image)
    if np.may_share_memory(img, out):
        raise InputError("image overlaps out: preprocess_into would overwrite the image while reading it")
    if b != "cpu":  # host buffer, GPU backend: compute there and copy into it
        out[...] = preprocess(
            img, out.shape[2:], scale=scale, mean=mean, std=std, channel_order=channel_order, dtype=out.dtype, backend=b
        )
        return out
    _dispatch.native("preprocess_into", "cpu")(out, img, scale, mean, std, swap)
    return out


def _checked_image(image) -> np.ndarray:
    img = _validate.image(image, "image", channels=(3, 4), dtypes=(np.uint8,))
    return _validate.packed(img)


def _byte_range(cai: dict) -> tuple:
    """[lo, hi) of the bytes an array-interface dict may touch (empty: lo == hi)."""
    shape = tuple(int(n) for n in cai["shape"])
    itemsize = int(np.dtype(cai["typestr"]).itemsize)
    ptr = int(cai["data"][0] or 0)
    if any(n == 0 for n in shape):
        return ptr, ptr
    strides = cai.get("strides")
    if strides is None:
        strides, step = [], itemsize
        for n in reversed(shape):
            strides.insert(0, step)
            step *= n
    lo = ptr + sum(min(0, (n - 1) * int(s)) for n, s in zip(shape, strides))
    hi = ptr + sum(max(0, (n - 1) * int(s)) for n, s in zip(shape, strides)) + itemsize
    return lo, hi


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < a[1] and b[0] < b[1] and a[0] < b[1] and b[0] < a[1]
