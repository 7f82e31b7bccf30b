"""What the native bindings raise for a bad argument: alphacut.InputError (a ValueError) on every
backend, with the source location relative to csrc/ (never the build machine's paths)."""

from __future__ import annotations

import numpy as np
import pytest

import alphacut
from alphacut import device, ops

pytestmark = pytest.mark.skipif(
    not alphacut._core.built_with_emu, reason="the CUDA emulation is not built (-DALPHACUT_EMU=ON)"
)


def dev(a):
    return device.to_device(np.ascontiguousarray(a), "emu")


CASES = {
    "make_trimap 1-D": lambda: ops.make_trimap(dev(np.zeros(8, np.float32)), backend="emu"),
    "estimate_foreground 1-D alpha": lambda: ops.estimate_foreground(
        dev(np.zeros((8, 8, 3), np.float32)), dev(np.zeros(8, np.float32)), backend="emu"
    ),
    "pack_rgba 1-D alpha": lambda: ops.pack_rgba(
        dev(np.zeros((8, 8, 3), np.uint8)), dev(np.zeros(8, np.float32)), backend="emu"
    ),
    "premultiply 1-D": lambda: ops.premultiply(
        dev(np.zeros(8, np.float32)), dev(np.zeros(8, np.float32)), backend="emu"
    ),
    "resize 1-D": lambda: ops.resize(dev(np.zeros(8, np.float32)), (4, 4), backend="emu"),
    "solve_alpha uint8 image": lambda: ops.solve_alpha(
        dev(np.zeros((8, 8, 3), np.uint8)), dev(np.zeros((8, 8), np.uint8)), backend="emu"
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_device_arrays_are_input_errors(name):
    with pytest.raises(alphacut.InputError) as info:
        CASES[name]()
    msg = str(info.value)
    assert "[csrc/" in msg and "/work" not in msg and "/home" not in msg, msg
    assert isinstance(info.value, ValueError)


def test_bad_host_arrays_are_input_errors_from_the_native_layer():
    from alphacut import _core

    with pytest.raises(alphacut.InputError, match=r"\[csrc/"):
        _core.make_trimap_cpu(np.zeros(8, np.float32), 0.9, 0.1, 1)
