"""A stand-in for TensorRT's device path on the emulated GPU: :class:`EmuDeviceRuntime` has the
device methods of :class:`alphacut.runtime.trt.TensorRTRuntime` (``runs_on_device``, ``lock``,
``input_buffer``, ``execute``) and runs the real ONNX model with ONNX Runtime.

Its bindings are ``_core`` emu device buffers, allocated as the TensorRT runner allocates them
(``to_device_emu`` of an empty array: counted as one upload each, on the first call only). The
emulated device's memory is host memory, so ``execute`` reads the input binding and writes the
output bindings in place, as an engine reads and writes its bindings on a GPU: no counted
host↔device copy. Whatever ``transfer_stats_emu`` counts during a run is then the pipeline's own.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any, Dict, List, Tuple

import numpy as np

from alphacut import _core
from alphacut.errors import InputError
from alphacut.runtime import OrtRuntime
from alphacut.runtime.base import Runtime, TensorInfo
from alphacut.runtime.trt.runner import CUDA_STREAM_PER_THREAD, DeviceTensor


def _at(ptr: int, shape, dtype) -> np.ndarray:
    """A NumPy view of emulated device memory (host memory) at ``ptr``."""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buf = (ctypes.c_char * n).from_address(ptr)
    return np.frombuffer(buf, dtype=dtype).reshape(shape)


class EmuDeviceRuntime(Runtime):
    name = "emu-device"

    def __init__(self, path) -> None:
        super().__init__()
        self.ort = OrtRuntime(str(path))
        self.device_backend = "emu"
        self.stream = CUDA_STREAM_PER_THREAD
        self.lock = threading.RLock()
        self._buffers: Dict[str, Tuple[Any, int, int]] = {}
        self._bound: Dict[str, DeviceTensor] = {}
        self.executions = 0  # engine runs on device buffers
        self.host_calls = 0  # infer() calls on host arrays

    def runs_on_device(self, backend: str) -> bool:
        return backend == self.device_backend

    def activate_impl(self) -> None:
        self.ort.activate()

    def deactivate_impl(self) -> None:
        self.ort.deactivate()
        self._buffers.clear()
        self._bound.clear()

    def input_metadata(self) -> List[TensorInfo]:
        return self.ort.input_metadata()

    def output_metadata(self) -> List[TensorInfo]:
        return self.ort.output_metadata()

    def infer_impl(self, feeds):
        self.host_calls += 1
        return self.ort.infer(feeds)

    def _buffer(self, name: str, nbytes: int) -> Tuple[Any, int]:
        old = self._buffers.get(name)
        if old is not None and old[2] >= nbytes:
            return old[0], old[1]
        arr = _core.to_device_emu(np.empty(max(nbytes, 1), np.uint8))
        ptr = int(arr.__cuda_array_interface__["data"][0])
        self._buffers[name] = (arr, ptr, nbytes)
        return arr, ptr

    def input_buffer(self, name: str, shape) -> DeviceTensor:
        known = {n: d for n, _, d in self.input_metadata()}
        if name not in known:
            raise InputError(f"no input {name!r}")
        nbytes = int(np.prod(shape)) * np.dtype(known[name]).itemsize
        arr, ptr = self._buffer(name, nbytes)
        t = DeviceTensor(arr, ptr, tuple(shape), known[name], None)
        self._bound[name] = t
        return t

    def execute(self) -> Dict[str, DeviceTensor]:
        self.activate()
        feeds = {n: _at(t.ptr, t.shape, t.dtype).copy() for n, t in self._bound.items()}
        outs = self.ort.infer(feeds)
        result = {}
        for name, y in outs.items():
            y = np.ascontiguousarray(y, np.float32)
            arr, ptr = self._buffer(f"out:{name}", y.nbytes)
            _at(ptr, y.shape, np.float32)[...] = y
            result[name] = DeviceTensor(arr, ptr, y.shape, np.dtype(np.float32), self.stream)
        self.executions += 1
        return result
