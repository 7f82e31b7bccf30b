"""Network-input preprocessing: ``preprocess`` (resize + normalise + HWC -> NCHW, one pass)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .. import device as _device
from . import _dispatch, _validate


def _params(size, scale, mean, std, channel_order, dtype):
    try:
        out_h, out_w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InputError(f"size must be (height, width), got {size!r}") from None
    if out_h <= 0 or out_w <= 0:
        raise InputError(f"size must be positive, got {size!r}")
    scale = float(scale)
    if not np.isfinite(scale):
        raise InputError(f"scale must be finite, got {scale!r}")
    mean = np.broadcast_to(np.asarray(mean, dtype=np.float64), (3,)) if np.ndim(mean) <= 1 else None
    std = np.broadcast_to(np.asarray(std, dtype=np.float64), (3,)) if np.ndim(std) <= 1 else None
    if mean is None or std is None or not np.isfinite(mean).all() or not np.isfinite(std).all():
        raise InputError("mean and std must be 3 finite numbers (or one)")
    if (std <= 0).any():
        raise InputError(f"std must be positive, got {tuple(std)}")
    if channel_order not in ("rgb", "bgr"):
        raise InputError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    if np.dtype(dtype) not in (np.float32, np.float16):
        raise InputError(f"dtype must be float32 or float16, got {dtype!r}")
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
        b, (img,) = _device.prepare(backend, image)
        return _dispatch.native("preprocess", b)(img, out_h, out_w, scale, mean, std, swap, fp16, stream=stream)
    img = _checked_image(image)
    b = _dispatch.resolve(backend)
    fn = _dispatch.native("preprocess", b)
    if b == "cpu":
        return fn(img, out_h, out_w, scale, mean, std, swap, fp16)
    return fn(img, out_h, out_w, scale, mean, std, swap, fp16, stream=stream)


def preprocess_into(out, image, *, scale=1.0 / 255.0, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0),
                    channel_order="rgb", backend: str = "auto", stream: int = 0):
    """:func:`preprocess` written into ``out``, a C-contiguous (1, 3, H, W) float32 or float16
    array - NumPy for ``backend="cpu"``, a device array (e.g. a TensorRT input binding held by
    CuPy/PyTorch) for ``"cuda"``. The output size is ``out``'s (H, W). Returns ``out``."""
    if _device.is_device_array(out):
        b, (out_view,) = _device.prepare(backend, out)
        shape = tuple(_device.interface(out_view)["shape"])
        if len(shape) != 4:
            raise InputError(f"out: expected a (1, 3, H, W) array, got shape {shape}")
        _, _, scale, mean, std, swap = _params(shape[2:], scale, mean, std, channel_order, "float32")
        if _device.is_device_array(image):
            _, (image,) = _device.prepare(b, image)
        else:
            image = _checked_image(image)
        _dispatch.native("preprocess_into", b)(out_view, image, scale, mean, std, swap, stream=stream)
        return out
    if not isinstance(out, np.ndarray) or out.ndim != 4 or out.shape[:2] != (1, 3):
        raise InputError(f"out: expected a (1, 3, H, W) NumPy or device array, got {getattr(out, 'shape', out)!r}")
    _, _, scale, mean, std, swap = _params(out.shape[2:], scale, mean, std, channel_order, out.dtype)
    b = _dispatch.resolve(backend)
    img = _checked_image(image)
    if b != "cpu":  # host buffer, GPU backend: compute there and copy into it
        out[...] = preprocess(img, out.shape[2:], scale=scale, mean=mean, std=std, channel_order=channel_order,
                              dtype=out.dtype, backend=b)
        return out
    _dispatch.native("preprocess_into", "cpu")(out, img, scale, mean, std, swap)
    return out


def _checked_image(image) -> np.ndarray:
    img = _validate.image(image, "image", channels=(3, 4), dtypes=(np.uint8,))
    return _validate.packed(img)
