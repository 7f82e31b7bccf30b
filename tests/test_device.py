"""alphacut.device: availability, counted uploads, device-array detection, and the deprecated
alphacut.cuda alias. The uploads run on the emulated device (built with -DALPHACUT_EMU=ON)."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

import alphacut
from alphacut import _core, device

needs_emu = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")


def test_availability_agrees_with_the_ops():
    reason = device.why_unavailable()
    assert device.is_available() is (reason is None)
    assert ("cuda" in alphacut.ops.available_backends()) is device.is_available()
    if reason is not None:
        assert isinstance(reason, str) and reason


@needs_emu
def test_to_device_counts_one_upload_and_round_trips():
    device.transfer_stats("emu", reset=True)
    x = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]  # not contiguous: copied first
    d = device.to_device(x, "emu")
    assert type(d).__name__ == "EmuDeviceArray" and d.shape == (4, 3)
    assert device.is_device_array(d) and not device.is_device_array(x)
    np.testing.assert_array_equal(d.get(), x)
    stats = device.transfer_stats("emu", reset=True)
    assert stats["uploads"] == 1 and stats["downloads"] == 1, stats
    assert device.transfer_stats("emu") == {k: 0 for k in stats}


def test_to_device_refuses_what_it_cannot_do():
    with pytest.raises(alphacut.InputError, match="cuda, emu"):
        device.to_device(np.zeros(3, np.float32), "cpu")
    with pytest.raises(alphacut.InputError, match="cuda, emu"):
        device.transfer_stats("cpu")
    if not device.is_available():
        with pytest.raises(alphacut.BackendUnavailableError, match="CUDA is not available"):
            device.to_device(np.zeros(3, np.float32))


def test_device_array_detection():
    class Cai:
        __cuda_array_interface__ = {"shape": (2, 3), "typestr": "<f4", "data": (0, False), "version": 3}

    class CudaDLPack:
        def __dlpack__(self, stream=None):
            raise AssertionError("not read by the detection")

        def __dlpack_device__(self):
            return (2, 0)

    class HostDLPack(CudaDLPack):
        def __dlpack_device__(self):
            return (1, 0)

    assert device.is_device_array(Cai()) and device.shape(Cai()) == (2, 3)
    assert device.is_device_array(CudaDLPack())
    assert not device.is_device_array(HostDLPack())
    assert not device.is_device_array(np.zeros(3))
    assert device.any_device(None, np.zeros(1), Cai()) and not device.any_device(None, np.zeros(1))
    with pytest.raises(alphacut.InputError, match="need backend='cuda'"):
        device.prepare("cpu", Cai())


@needs_emu
def test_dlpack_view_of_a_host_tensor_on_emu():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)[:, 1:]
    v = device.as_interface(a, "emu")
    cai = v.__cuda_array_interface__
    assert v.shape == (3, 3) and cai["typestr"] == "<f4" and cai["strides"] == (16, 4)
    assert cai["data"][0] == a.ctypes.data
    with pytest.raises(alphacut.InputError, match="not a CUDA device"):
        device.as_interface(a, "cuda")


def test_deprecated_cuda_alias_warns_and_forwards():
    cuda = importlib.import_module("alphacut.cuda")
    with pytest.warns(DeprecationWarning, match=r"alphacut\.cuda is deprecated; use alphacut\.device\.is_available"):
        is_available = cuda.is_available
    assert is_available is device.is_available
    with pytest.warns(DeprecationWarning):
        assert cuda.why_unavailable() == device.why_unavailable()
    with pytest.warns(DeprecationWarning):
        assert cuda.to_device is device.to_device
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no_such_name"):
            _ = cuda.no_such_name
    assert "to_device" in dir(cuda)
