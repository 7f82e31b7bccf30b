"""``probability``: a segmenter's foreground map from its output planes (channel, sigmoid,
softmax, 1 - background), against NumPy, on every backend of this build; on a device it reads a
(1, C, h, w) output binding in place and writes a new array."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut import device
from alphacut.errors import InputError
from alphacut.ops._probability import probability


def _softmax(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _reference(y, channel, activation, reduce):
    y = y.astype(np.float64)
    if reduce == "1-background":
        p = 1.0 - _softmax(y)[0]
    elif activation == "softmax":
        p = _softmax(y)[channel]
    elif activation == "sigmoid":
        p = 1.0 / (1.0 + np.exp(-y[channel]))
    else:
        p = y[channel]
    return np.clip(p, 0.0, 1.0)


CASES = [
    (1, 0, "none", "channel"),
    (2, 1, "none", "channel"),
    (1, 0, "sigmoid", "channel"),
    (3, 2, "sigmoid", "channel"),
    (2, 1, "softmax", "channel"),
    (4, 0, "softmax", "1-background"),
]


@pytest.mark.parametrize("channels,channel,activation,reduce", CASES)
def test_matches_numpy(backend, rng, channels, channel, activation, reduce):
    y = (rng.standard_normal((1, channels, 23, 37)) * 4).astype(np.float32)
    if activation == "none":
        y = rng.uniform(-0.2, 1.2, size=y.shape).astype(np.float32)  # clamped to [0, 1]
    out = probability(y, channel=channel, activation=activation, reduce=reduce, backend=backend)
    assert out.shape == (23, 37) and out.dtype == np.float32
    np.testing.assert_allclose(out, _reference(y[0], channel, activation, reduce), atol=2e-6)


def test_shapes_and_extremes(backend):
    y = np.array([[[-1e30, 1e30], [np.nan, 0.5]]], np.float32)  # (1, 2, 2): one channel
    sig = probability(y, activation="sigmoid", backend=backend)
    np.testing.assert_allclose(sig, [[0, 1], [0, 1 / (1 + np.exp(-0.5))]], rtol=1e-6, atol=0)
    np.testing.assert_array_equal(probability(y[0], backend=backend), [[0, 1], [0, 0.5]])  # NaN reads as 0
    big = np.array([[[[1e30]], [[-1e30]]]], np.float32)
    assert probability(big, channel=0, activation="softmax", backend=backend)[0, 0] == 1.0


def test_bad_arguments():
    y = np.zeros((1, 2, 4, 4), np.float32)
    with pytest.raises(InputError, match="channel"):
        probability(y, channel=2)
    with pytest.raises(InputError, match="activation"):
        probability(y, activation="tanh")
    with pytest.raises(InputError, match="reduce"):
        probability(y, reduce="argmax")
    with pytest.raises(InputError, match="float32"):
        probability(y.astype(np.float64))
    with pytest.raises(InputError, match="shape"):
        probability(np.zeros((2, 2, 4, 4), np.float32))


def test_reads_a_device_output_in_place():
    from alphacut import _core
    from alphacut.runtime.trt.runner import DeviceTensor

    if not _core.built_with_emu:
        pytest.skip("built without the emulation (-DALPHACUT_EMU=ON)")
    rng = np.random.default_rng(5)
    y = rng.standard_normal((1, 3, 17, 29)).astype(np.float32)
    d = device.to_device(y, "emu")
    t = DeviceTensor(d, int(d.__cuda_array_interface__["data"][0]), y.shape, np.dtype(np.float32), None)
    device.transfer_stats("emu", reset=True)
    p = probability(t, channel=2, activation="softmax", backend="emu")
    assert device.transfer_stats("emu", reset=True) == {
        "uploads": 0,
        "upload_bytes": 0,
        "downloads": 0,
        "download_bytes": 0,
    }
    assert device.is_device_array(p) and p.__cuda_array_interface__["data"][0] != t.ptr
    np.testing.assert_allclose(p.get(), _reference(y[0], 2, "softmax", "channel"), atol=2e-6)
