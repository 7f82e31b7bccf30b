"""The TensorRT network runtime: :class:`TensorRTRuntime` runs a serialised engine (TensorRT 10
name-based I/O, ``execute_async_v3``) with device buffers from :class:`alphacut.device.CudaBuffers`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from ...device import CudaBuffers, CudaStream
from ...errors import InputError, ModelError
from ..base import Runtime, TensorInfo
from .loader import EngineFromBytes, import_tensorrt

if TYPE_CHECKING:
    import tensorrt

__all__ = ["TensorRTRuntime"]


class TensorRTRuntime(Runtime):
    """Runs a TensorRT engine (TensorRT 10 name-based I/O, ``execute_async_v3``).

    Parameters
    ----------
    engine : bytes, path-like, or a loader
        A serialised plan, a ``.plan`` file, or a callable returning plan bytes (e.g.
        ``EngineFromNetwork(...)`` or ``lambda: build_or_load_engine(...)``).
    """

    name = "tensorrt"

    def __init__(self, engine: Union[bytes, str, Path, Callable[[], bytes]]) -> None:
        super().__init__()
        self._engine_src = engine
        self.engine: Optional[tensorrt.ICudaEngine] = None
        self.context: Optional[tensorrt.IExecutionContext] = None
        self._cuda: Optional[CudaBuffers] = None
        self._stream: Optional[CudaStream] = None
        self._buffers: Dict[str, Tuple[Any, int, int]] = {}  # name -> (handle, ptr, nbytes)
        self._inputs: List[TensorInfo] = []
        self._outputs: List[TensorInfo] = []

    def activate_impl(self) -> None:
        trt = import_tensorrt()
        src = self._engine_src
        if isinstance(src, (str, Path)):
            p = Path(src)
            if not p.is_file():
                raise ModelError(f"engine file not found: {p}")
            src = p.read_bytes()
        self._cuda = cuda = CudaBuffers()
        self.engine = engine = EngineFromBytes(src)()
        self.context = engine.create_execution_context()
        self._stream = cuda.stream()
        self._inputs, self._outputs = [], []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            shape = tuple(d if d >= 0 else None for d in engine.get_tensor_shape(name))
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                self._inputs.append((name, shape, dtype))
            else:
                self._outputs.append((name, shape, dtype))

    def deactivate_impl(self) -> None:
        if self._cuda is not None:
            for handle, _, _ in self._buffers.values():
                with contextlib.suppress(Exception):
                    self._cuda.free(handle)
            if self._stream is not None:
                with contextlib.suppress(Exception):
                    self._cuda.destroy_stream(self._stream)
        self._buffers.clear()
        self.context = None
        self.engine = None
        self._stream = None

    def input_metadata(self) -> List[TensorInfo]:
        self.activate()
        return list(self._inputs)

    def output_metadata(self) -> List[TensorInfo]:
        self.activate()
        return list(self._outputs)

    def _buffer(self, cuda: CudaBuffers, name: str, nbytes: int) -> int:
        old = self._buffers.get(name)
        if old is not None and old[2] >= nbytes:
            return old[1]
        if old is not None:
            cuda.free(old[0])
        handle, ptr = cuda.malloc(nbytes)
        self._buffers[name] = (handle, ptr, nbytes)
        return ptr

    def infer_impl(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        context, cuda, stream = self.context, self._cuda, self._stream
        assert context is not None and cuda is not None and stream is not None, "infer() activates the runtime first"
        known = {n: d for n, _, d in self._inputs}
        if set(feeds) != set(known):
            raise InputError(f"the engine takes inputs {sorted(known)}, got {sorted(feeds)}")
        keep = []  # host arrays stay alive until the stream is synchronised
        for name, arr in feeds.items():
            if not isinstance(arr, np.ndarray) or arr.dtype != known[name]:
                raise InputError(f"input {name!r} must be a {known[name]} numpy array")
            arr = np.ascontiguousarray(arr)
            keep.append(arr)
            if not context.set_input_shape(name, arr.shape):
                raise InputError(f"input {name!r} shape {arr.shape} is outside the engine's profile")
            ptr = self._buffer(cuda, name, arr.nbytes)
            cuda.htod(ptr, arr, stream)
            context.set_tensor_address(name, ptr)
        results = {}
        for name, _, dtype in self._outputs:
            shape = tuple(context.get_tensor_shape(name))
            host = np.empty(shape, dtype=dtype)
            ptr = self._buffer(cuda, name, host.nbytes)
            context.set_tensor_address(name, ptr)
            results[name] = host
        if not context.execute_async_v3(stream[1]):
            raise ModelError("TensorRT execution failed (see its log)")
        for name, host in results.items():
            cuda.dtoh(host, self._buffers[name][1], stream)
        cuda.sync(stream)
        del keep
        return results
