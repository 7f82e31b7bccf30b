"""A segmenter's foreground probability from its output planes: ``probability`` (the manifest's
channel, activation and reduction, one native pass; on a device the engine's output is read in
place and the probability is a new device array)."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from .. import device as _device
from ..errors import InputError
from . import _dispatch, _validate

MODES = {"none": 0, "sigmoid": 1, "softmax": 2, "1-background": 3}


def _mode(activation: str, reduce: str) -> int:
    if reduce == "1-background":
        return MODES["1-background"]
    if reduce != "channel":
        raise InputError(f"reduce must be 'channel' or '1-background', got {reduce!r}")
    if activation not in ("none", "sigmoid", "softmax"):
        raise InputError(f"activation must be 'none', 'sigmoid' or 'softmax', got {activation!r}")
    return MODES[activation]


def _planes_shape(shape: Tuple[int, ...]) -> Tuple[int, int, int]:
    """(C, h, w) of an (h, w), (C, h, w) or (1, C, h, w) output."""
    if len(shape) == 4 and shape[0] == 1:
        return shape[1], shape[2], shape[3]
    if len(shape) == 3:
        return shape[0], shape[1], shape[2]
    if len(shape) == 2:
        return 1, shape[0], shape[1]
    raise InputError(f"output: expected (h, w), (C, h, w) or (1, C, h, w), got shape {shape}")


class _Planes:
    """A C-contiguous device tensor seen as (C * h, w), zero-copy (keeps the tensor alive)."""

    def __init__(self, owner: Any, shape: Tuple[int, int]) -> None:
        cai = _device.interface(owner)
        strides = cai.get("strides")
        full = tuple(int(d) for d in cai["shape"])
        if strides is not None and tuple(strides) != np.empty(full, np.dtype(cai["typestr"])).strides:
            raise InputError("output: a device output must be C-contiguous")
        self._owner = owner
        self.__cuda_array_interface__ = dict(cai, shape=shape, strides=None)


def probability(output, *, channel: int = 0, activation: str = "none", reduce: str = "channel", backend: str = "auto"):
    """The (h, w) float32 foreground probability from a segmenter's NCHW output.

    As :func:`alphacut.pipeline.network.read_probability` for one image: channel ``channel`` as
    it is (``activation="none"``), after a sigmoid (``"sigmoid"``, logits) or a softmax across
    the channels (``"softmax"``); with ``reduce="1-background"``, ``1 - softmax(output)[0]``.
    Clamped to [0, 1]. Unlike the host reader, a NaN reads as 0 instead of raising (a kernel
    cannot raise; check on the host where that matters).

    Parameters
    ----------
    output : (h, w), (C, h, w) or (1, C, h, w) float32, NumPy or a C-contiguous device array
        (e.g. a TensorRT output binding, read in place).
    channel : int, default 0
    activation : {"none", "sigmoid", "softmax"}
    reduce : {"channel", "1-background"}
    backend : {"auto", "cpu", "cuda", "emu"}

    Returns
    -------
    (h, w) float32: NumPy, or a new device array when ``output`` is one.
    """
    mode = _mode(activation, reduce)
    if _device.is_device_array(output):
        b, (out,) = _device.prepare(backend, output)
        c, h, w = _planes_shape(_device.shape(out))
        if _device.interface(out)["typestr"] != "<f4":
            raise InputError(f"output: expected float32, got {_device.interface(out)['typestr']}")
        _check_channel(channel, c)
        return _dispatch.native("probability", b)(_Planes(out, (c * h, w)), c, mode, int(channel))
    arr = _validate.array(output, "output")
    if arr.dtype != np.float32:
        raise InputError(f"output: expected float32, got {arr.dtype}")
    c, h, w = _planes_shape(arr.shape)
    _check_channel(channel, c)
    planes = np.ascontiguousarray(arr).reshape(c * h, w)
    return _dispatch.native("probability", _dispatch.resolve(backend))(planes, c, mode, int(channel))


def _check_channel(channel: int, channels: int) -> None:
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < channels:
        raise InputError(f"channel must be an integer in [0, {channels}), got {channel!r}")
