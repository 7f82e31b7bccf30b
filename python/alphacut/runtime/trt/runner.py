"""The TensorRT network runtime: :class:`TensorRTRuntime` runs a serialised engine (name-based
I/O and ``execute_async_v3``, TensorRT 10 and 11) on device buffers that alphacut's own native
module allocates (:func:`alphacut.device.to_device`, the memory the kernels use), so that no
cuda-python or CuPy is needed.

On the device path (:meth:`TensorRTRuntime.input_buffer` and :meth:`TensorRTRuntime.execute`) the
preprocess kernel writes the engine's input binding in place (``ops.preprocess_into``) and the
trimap kernel reads its output binding in place: the network's input and probability never go
through the host. :meth:`~TensorRTRuntime.infer` takes NumPy arrays (uploaded, results
downloaded) or device arrays from CuPy, PyTorch, Numba, pycuda (``__cuda_array_interface__``) or
DLPack, bound zero-copy, and then returns the outputs on the device.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from ... import _core
from ... import device as _device
from ...errors import BackendUnavailableError, InputError, ModelError
from ..base import Runtime, TensorInfo
from .loader import EngineFromBytes, import_tensorrt

if TYPE_CHECKING:
    import tensorrt

__all__ = ["CUDA_STREAM_PER_THREAD", "DeviceTensor", "TensorRTRuntime", "segment_on_device"]

#: ``cudaStreamPerThread``: the calling thread's default stream, a valid ``cudaStream_t`` for
#: TensorRT and for the kernels' ``stream=`` without creating one.
CUDA_STREAM_PER_THREAD = 2


class DeviceTensor:
    """A C-contiguous tensor at the start of a device buffer, seen through
    ``__cuda_array_interface__`` (v3) with the stream its data is produced on: the native kernels
    synchronise that stream before they read it, CuPy and PyTorch wrap it without a copy."""

    def __init__(self, owner: Any, ptr: int, shape: Tuple[int, ...], dtype: np.dtype, stream: Optional[int]):
        self._owner = owner  # keeps the allocation alive
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.ptr = int(ptr)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self.__cuda_array_interface__ = {
            "shape": self.shape,
            "typestr": self.dtype.str,
            "data": (self.ptr, False),
            "strides": None,
            "stream": stream,
            "version": 3,
        }

    def _view(self, offset: int, shape: Tuple[int, ...]) -> DeviceTensor:
        return DeviceTensor(self._owner, self.ptr + offset, shape, self.dtype, self.__cuda_array_interface__["stream"])

    def reshape(self, *shape: int) -> DeviceTensor:
        """The same memory with another shape (as many elements)."""
        shp = tuple(int(d) for d in (shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape))
        if int(np.prod(shp, dtype=np.int64)) != int(np.prod(self.shape, dtype=np.int64)):
            raise InputError(f"cannot reshape {self.shape} to {shp}")
        return self._view(0, shp)

    def plane(self, batch: int = 0, channel: int = 0) -> DeviceTensor:
        """The (H, W) plane ``[batch, channel]`` of an NCHW tensor, in place (e.g. a
        segmenter's probability for the trimap kernel)."""
        n, c, h, w = self.shape
        if not (0 <= batch < n and 0 <= channel < c):
            raise InputError(f"plane ({batch}, {channel}) is outside a tensor of shape {self.shape}")
        return self._view(((batch * c + channel) * h * w) * self.dtype.itemsize, (h, w))

    def get(self) -> np.ndarray:
        """Copy to a new NumPy array (one download, counted by :func:`alphacut.device.transfer_stats`)."""
        base = int(self._owner.__cuda_array_interface__["data"][0])
        start = self.ptr - base
        raw = np.asarray(self._owner.get()).view(np.uint8).reshape(-1)[start : start + self.nbytes]
        return raw.view(self.dtype).reshape(self.shape).copy()


def _feed_interface(x: Any, backend: str) -> Any:
    """A device feed as an object with ``__cuda_array_interface__`` (DLPack producers wrapped)."""
    if hasattr(x, "__cuda_array_interface__"):
        return x
    return _device.as_interface(x, backend)


class TensorRTRuntime(Runtime):
    """Runs a TensorRT engine (name-based I/O, ``execute_async_v3``; TensorRT 10 and 11).

    Parameters
    ----------
    engine : bytes, path-like, a loader, or a :class:`~alphacut.runtime.trt.loader.CachedEngine`
        A serialised plan, a ``.plan`` file, a callable returning plan bytes (e.g.
        ``EngineFromNetwork(...)``), or a cached engine (which rebuilds a plan that does not
        deserialise).
    device_backend : {"cuda", "emu"}, default "cuda"
        Whose device memory the bindings live in: ``"emu"`` is the kernels' CPU emulation (tests).
    stream : int, default :data:`CUDA_STREAM_PER_THREAD`
        The ``cudaStream_t`` the engine is enqueued on; the outputs carry it in their interface.

    One runtime is shared by the sessions and threads that use its model: :attr:`lock` is held
    by :meth:`infer` and by :func:`segment_on_device` from binding the input to reading the
    output, so two threads never bind, run or read one execution context at once.
    """

    name = "tensorrt"

    def __init__(
        self,
        engine: Union[bytes, str, Path, Callable[[], bytes]],
        *,
        device_backend: str = "cuda",
        stream: int = CUDA_STREAM_PER_THREAD,
    ) -> None:
        super().__init__()
        if device_backend not in _device.DEVICE_BACKENDS:
            raise InputError(f"device_backend must be one of {_device.DEVICE_BACKENDS}, not {device_backend!r}")
        self._engine_src = engine
        self.device_backend = device_backend
        self.stream = int(stream)
        self.engine: Optional[tensorrt.ICudaEngine] = None
        self.context: Optional[tensorrt.IExecutionContext] = None
        self._buffers: Dict[str, Tuple[Any, int, int]] = {}  # name -> (device array, ptr, nbytes)
        self._bound: Dict[str, Any] = {}  # name -> what the engine reads/writes this call
        self._inputs: List[TensorInfo] = []
        self._outputs: List[TensorInfo] = []
        #: Held from binding the inputs to reading the outputs (re-entrant).
        self.lock = threading.RLock()

    def runs_on_device(self, backend: str) -> bool:
        """True for the backend whose memory the bindings live in (:attr:`device_backend`): the
        device pipeline of that backend then writes the input binding with the preprocess kernel
        and reads the output binding in place (:func:`segment_on_device`)."""
        return backend == self.device_backend

    # -- lifecycle -----------------------------------------------------------------------
    def activate_impl(self) -> None:
        trt = import_tensorrt()
        if self.device_backend == "cuda":
            reason = _device.why_unavailable()
            if reason is not None:
                raise BackendUnavailableError(f"TensorRT needs alphacut's CUDA device memory: {reason}")
        src = self._engine_src
        if isinstance(src, (str, Path)):
            p = Path(src)
            if not p.is_file():
                raise ModelError(f"engine file not found: {p}")
            src = p.read_bytes()
        deserialize = getattr(src, "deserialize", None)
        self.engine = engine = deserialize() if callable(deserialize) else EngineFromBytes(src)()
        self.context = engine.create_execution_context()
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
        self._buffers.clear()
        self._bound.clear()
        self.context = None
        self.engine = None

    def input_metadata(self) -> List[TensorInfo]:
        self.activate()
        return list(self._inputs)

    def output_metadata(self) -> List[TensorInfo]:
        self.activate()
        return list(self._outputs)

    # -- device buffers ------------------------------------------------------------------
    def _buffer(self, name: str, nbytes: int) -> Tuple[Any, int]:
        """The device buffer of a binding, grown when too small (allocated by ``to_device``)."""
        old = self._buffers.get(name)
        if old is not None and old[2] >= nbytes:
            return old[0], old[1]
        arr = getattr(_core, f"to_device_{self.device_backend}")(np.empty(max(nbytes, 1), np.uint8))
        ptr = int(arr.__cuda_array_interface__["data"][0])
        self._buffers[name] = (arr, ptr, nbytes)
        return arr, ptr

    def _context(self) -> tensorrt.IExecutionContext:
        self.activate()
        assert self.context is not None
        return self.context

    def _set_shape(self, name: str, shape: Tuple[int, ...]) -> None:
        if not self._context().set_input_shape(name, tuple(int(d) for d in shape)):
            raise InputError(f"input {name!r} shape {tuple(shape)} is outside the engine's profile")

    def input_buffer(self, name: str, shape: Tuple[int, ...]) -> DeviceTensor:
        """The device binding of input ``name`` for ``shape``: write it in place (e.g. with
        ``ops.preprocess_into(buf, image, backend=...)``), then :meth:`execute`."""
        known = {n: d for n, _, d in self.input_metadata()}
        if name not in known:
            raise InputError(f"the engine has no input {name!r}; it takes {sorted(known)}")
        self._set_shape(name, shape)
        t = DeviceTensor(None, 0, shape, known[name], None)
        arr, ptr = self._buffer(name, t.nbytes)
        t = DeviceTensor(arr, ptr, shape, known[name], None)
        self._context().set_tensor_address(name, ptr)
        self._bound[name] = t
        return t

    def execute(self) -> Dict[str, DeviceTensor]:
        """Run the engine on the bound inputs; the outputs as device tensors in the engine's own
        buffers (valid until the next call), produced on :attr:`stream`."""
        context = self._context()
        missing = [n for n, _, _ in self._inputs if n not in self._bound]
        if missing:
            raise InputError(f"inputs {missing} are not bound (input_buffer or infer)")
        outs: Dict[str, DeviceTensor] = {}
        for name, _, dtype in self._outputs:
            shape = tuple(int(d) for d in context.get_tensor_shape(name))
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            arr, ptr = self._buffer(name, nbytes)
            context.set_tensor_address(name, ptr)
            outs[name] = DeviceTensor(arr, ptr, shape, dtype, self.stream)
        if not context.execute_async_v3(self.stream):
            raise ModelError("TensorRT execution failed (see its log)")
        return outs

    def synchronize(self) -> None:
        """Wait for the engine's work on :attr:`stream` (the emulation runs synchronously)."""
        if self.device_backend == "cuda":
            from .gpu import stream_synchronize

            stream_synchronize(self.stream)

    # -- host / foreign-array path ---------------------------------------------------------
    def infer_impl(self, feeds: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            return self._infer_locked(feeds)

    def _infer_locked(self, feeds: Dict[str, Any]) -> Dict[str, Any]:
        known = {n: d for n, _, d in self._inputs}
        if set(feeds) != set(known):
            raise InputError(f"the engine takes inputs {sorted(known)}, got {sorted(feeds)}")
        on_device = False
        keep = []  # the feeds' device memory stays alive until the engine has run
        self._bound.clear()
        for name, x in feeds.items():
            if _device.is_device_array(x):
                on_device = True
                view = _feed_interface(x, self.device_backend)
                cai = _device.interface(view)
                shape = tuple(int(d) for d in cai["shape"])
                if np.dtype(cai["typestr"]) != known[name]:
                    raise InputError(f"input {name!r} must be {known[name]}, got {np.dtype(cai['typestr'])}")
                strides = cai.get("strides")
                contiguous = np.empty(shape, known[name]).strides
                if strides is not None and tuple(strides) != contiguous:
                    raise InputError(f"input {name!r} must be C-contiguous on the device")
                producer = cai.get("stream")
                if producer and producer != self.stream and self.device_backend == "cuda":
                    from .gpu import stream_synchronize

                    stream_synchronize(int(producer))
                self._set_shape(name, shape)
                self._context().set_tensor_address(name, int(cai["data"][0]))
                keep.append(view)
                self._bound[name] = view
            else:
                if not isinstance(x, np.ndarray) or x.dtype != known[name]:
                    raise InputError(f"input {name!r} must be a {known[name]} numpy array or device array")
                self._set_shape(name, x.shape)
                d = getattr(_core, f"to_device_{self.device_backend}")(np.ascontiguousarray(x))  # one upload
                self._context().set_tensor_address(name, int(d.__cuda_array_interface__["data"][0]))
                keep.append(d)
                self._bound[name] = d
        outs = self.execute()
        if on_device:
            return dict(outs)
        self.synchronize()
        results = {name: t.get() for name, t in outs.items()}
        del keep
        return results


def segment_on_device(rt: Any, image: Any, manifest: Any, *, backend: str = "cuda", copy: bool = False) -> Any:
    """A segmenter's (h, w) probability on the device, with no host round trip: the preprocess
    kernel normalises ``image`` straight into the engine's input binding, the engine runs, and
    the probability is read from the output the manifest names.

    ``rt``: a runtime whose ``runs_on_device(backend)`` is true (:class:`TensorRTRuntime`, or any
    object with its ``lock``, ``input_buffer``, ``execute`` and ``input_names`` /
    ``output_names``). ``image``: (h, w, 3) uint8 at the network's input size (host or device
    array; shrink it for the network first, as :func:`alphacut.pipeline.network.preprocess`
    does). Needs an NCHW input.

    ``copy=False``: the plane is a view of the engine's own output buffer, valid until the
    runtime's next call (the trimap kernel can read it in place); only for outputs that are a
    probability as they are (activation "none", one channel taken). ``copy=True``: the
    probability kernel (:func:`alphacut.ops._probability.probability`: the manifest's channel,
    activation and reduction, clamped to [0, 1]) reads the output binding, still under
    ``rt.lock``, and writes a new device array of ``backend`` that no later call of the runtime
    can overwrite: what a pipeline keeps while other images or threads use the same engine."""
    from ... import ops
    from ...ops._probability import probability

    spec, out = manifest.input, manifest.output
    reduce = getattr(out, "reduce", "channel")
    if spec.layout.upper() != "NCHW":
        raise InputError(f"segment_on_device needs an NCHW input; {manifest.name} is {spec.layout}")
    if not copy and (out.activation != "none" or reduce != "channel"):
        raise InputError(
            f"segment_on_device(copy=False) reads a probability plane as it is; {manifest.name}'s output needs "
            f"{out.activation!r} / {reduce!r} (use copy=True, which applies it on the device)"
        )
    h, w = (int(d) for d in _device.shape(image)[:2])
    with rt.lock:
        name = spec.name or rt.input_names[0]
        x = rt.input_buffer(name, (1, 3, h, w))
        ops.preprocess_into(
            x,
            image,
            scale=spec.scale,
            mean=spec.mean,
            std=spec.std,
            channel_order=spec.color.lower(),
            backend=backend,
        )
        outs = rt.execute()
        key = out.name or rt.output_names[0]
        if key not in outs:
            raise ModelError(f"the engine has no output {key!r} (it has {', '.join(outs)})")
        if not copy:
            return outs[key].plane(0, out.channel)
        y = outs[key]
        if len(y.shape) == 4 and y.shape[0] != 1:
            y = y._view(0, tuple(y.shape[1:]))  # the first image of the batch
        return probability(y, channel=out.channel, activation=out.activation, reduce=reduce, backend=backend)
