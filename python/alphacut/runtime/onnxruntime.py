"""The ONNX Runtime network runtime: :class:`OrtRuntime` (the CPU provider by default, or any
execution provider ONNX Runtime has here, e.g. CUDA)."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import BackendUnavailableError, InputError, ModelError
from .base import Runtime, TensorInfo

if TYPE_CHECKING:
    import onnxruntime as ort

_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}

_OPT_LEVELS = {"all": "ORT_ENABLE_ALL", "basic": "ORT_ENABLE_BASIC", "none": "ORT_DISABLE_ALL"}

ModelSource = Union[str, "os.PathLike[str]", bytes]


def _dims(shape) -> Tuple[Optional[int], ...]:
    return tuple(d if isinstance(d, int) and d >= 0 else None for d in shape)


class OrtRuntime(Runtime):
    """Runs an ONNX model with ONNX Runtime; the session is created once (on :meth:`activate` or
    first use) and reused for every :meth:`infer`.

    Parameters
    ----------
    model_path_or_bytes : path-like or bytes
        The ONNX file, or its serialised bytes (e.g. an FP16 conversion made in memory).
    threads : int, optional
        ``intra_op_num_threads``; None or 0 lets ONNX Runtime choose (one per core).
    providers : sequence of str, optional
        Execution providers in order; default ``["CPUExecutionProvider"]``.
    optimization : {"all", "basic", "none"}, default "all"
        ONNX Runtime's graph optimisation level. "none" keeps the graph as written: needed to
        see FP16 rounding on the CPU, where the optimiser folds an FP16 graph's Casts away
        around ops that have no FP16 kernel (they then compute in float32 throughout).
    shrink_arena : bool, optional
        Hand the CPU arena's free chunks back at the end of every run
        (``memory.enable_memory_arena_shrinkage``). Default: when the process keeps freed
        memory in its heap (:func:`alphacut.heap.heap_retained`), where the post-processing then
        reuses those pages and the peak is lower at no cost in time, for runs on the main thread
        (whose heap keeps large chunks); otherwise the arena is kept (giving it back to the system
        would cost the next run its page faults). Runs that
        overlap (another in flight on this runtime, or inside :meth:`side_by_side`) leave the
        arena as it is: the others use it.

    Examples
    --------
    >>> with OrtRuntime("u2netp.onnx", threads=1) as r:  # doctest: +SKIP
    ...     out = r.infer({"input.1": x})["1959"]
    """

    name = "onnxruntime"

    def __init__(
        self,
        model_path_or_bytes: ModelSource,
        *,
        threads: Optional[int] = None,
        providers: Optional[Sequence[str]] = None,
        optimization: str = "all",
        shrink_arena: Optional[bool] = None,
    ) -> None:
        super().__init__()
        self.shrink_arena = shrink_arena
        self._shrink_options = None
        self._in_flight = 0
        self._side_by_side = 0
        self._in_flight_lock = threading.Lock()
        if optimization not in _OPT_LEVELS:
            raise InputError(f"optimization must be one of {', '.join(_OPT_LEVELS)}, not {optimization!r}")
        self.optimization = optimization
        if isinstance(model_path_or_bytes, (bytes, bytearray, memoryview)):
            self._model: Union[Path, bytes] = bytes(model_path_or_bytes)
            if not self._model:
                raise ModelError("the model bytes are empty")
        else:
            self._model = Path(model_path_or_bytes).expanduser()
        if threads is not None and (not isinstance(threads, (int, np.integer)) or threads < 0):
            raise InputError(f"threads must be a non-negative integer or None, not {threads!r}")
        self.threads = int(threads) if threads else 0
        self.providers = list(providers) if providers else ["CPUExecutionProvider"]
        self.session: Optional[ort.InferenceSession] = None
        self._inputs: List[TensorInfo] = []
        self._outputs: List[TensorInfo] = []

    @property
    def source(self) -> str:
        return "<bytes>" if isinstance(self._model, bytes) else str(self._model)

    def activate_impl(self) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise BackendUnavailableError(f"onnxruntime is not installed ({exc}); pip install onnxruntime") from None
        available = ort.get_available_providers()
        missing = [p for p in self.providers if p not in available]
        if missing:
            raise BackendUnavailableError(
                f"ONNX Runtime execution provider(s) {', '.join(missing)} not available here; "
                f"available: {', '.join(available)}"
                + (
                    "; the CUDA provider comes with the onnxruntime-gpu package"
                    if "CUDAExecutionProvider" in missing
                    else ""
                )
            )
        if isinstance(self._model, Path) and not self._model.is_file():
            raise ModelError(f"model file not found: {self._model}")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _OPT_LEVELS[self.optimization])
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # ONNX Runtime's memory pattern (on by default) plans one block for all of a run's
        # intermediates on the second run and keeps it beside the arena's chunks from the first:
        # ~190 MiB more resident for u2netp at 320 px, for no measurable speed
        # (bench/results/memory_and_foreground.md). Without it the arena's chunks are reused.
        opts.enable_mem_pattern = False
        try:
            src = self._model if isinstance(self._model, bytes) else str(self._model)
            session = ort.InferenceSession(src, sess_options=opts, providers=self.providers)
        except Exception as exc:  # ORT raises its own pybind types (InvalidProtobuf, Fail, ...)
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                f"ONNX Runtime cannot load {self.source}: {msg}. The file is corrupt, "
                "truncated or not an ONNX model; fetch it again (alphacut models fetch "
                "NAME --force) or check the path."
            ) from None
        self.session = session
        self._inputs = [
            (i.name, _dims(i.shape), np.dtype(_ORT_TYPES.get(i.type, np.float32))) for i in session.get_inputs()
        ]
        self._outputs = [
            (o.name, _dims(o.shape), np.dtype(_ORT_TYPES.get(o.type, np.float32))) for o in session.get_outputs()
        ]

    def deactivate_impl(self) -> None:
        self.session = None

    def input_metadata(self) -> List[TensorInfo]:
        self.activate()
        return list(self._inputs)

    def output_metadata(self) -> List[TensorInfo]:
        self.activate()
        return list(self._outputs)

    def _check_feeds(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        if not isinstance(feeds, dict):
            raise InputError(f"feeds must be a dict of input name -> array, not {type(feeds).__name__}")
        known = {n: (s, d) for n, s, d in self._inputs}
        unknown = [n for n in feeds if n not in known]
        if unknown:
            raise InputError(f"unknown input(s) {', '.join(map(repr, unknown))}; the model takes {', '.join(known)}")
        missing = [n for n in known if n not in feeds]
        if missing:
            raise InputError(f"missing input(s) {', '.join(map(repr, missing))}")
        out = {}
        for n, a in feeds.items():
            shape, dtype = known[n]
            if not isinstance(a, np.ndarray):
                raise InputError(f"input {n!r} must be a numpy array, not {type(a).__name__}")
            if a.dtype != dtype:
                raise InputError(f"input {n!r} has dtype {a.dtype}, the model takes {dtype}")
            if a.ndim != len(shape) or any(w is not None and w != g for w, g in zip(shape, a.shape)):
                want = "x".join("?" if d is None else str(d) for d in shape)
                raise InputError(f"input {n!r} has shape {a.shape}, the model takes {want}")
            if a.size == 0:
                raise InputError(f"input {n!r} is empty (shape {a.shape})")
            out[n] = np.ascontiguousarray(a)
        return out

    @contextmanager
    def side_by_side(self) -> Iterator[None]:
        with self._in_flight_lock:
            self._side_by_side += 1
        try:
            yield
        finally:
            with self._in_flight_lock:
                self._side_by_side -= 1

    def _run_options(self, alone: bool = True):
        """Run options that shrink the CPU arena when :attr:`shrink_arena` says so and the run is
        ``alone`` (no other run of this runtime in flight), else None."""
        if not alone:
            return None
        shrink = self.shrink_arena
        if shrink is None:
            from .. import heap

            # Only glibc's main arena (the main thread's) keeps the arena's large chunks once
            # freed; another thread's arena hands chunks above 64 MiB back to the system, and the
            # next run would fault their pages in again (measured: 25 % slower in the server).
            shrink = heap.heap_retained() and threading.current_thread() is threading.main_thread()
        if not shrink:
            return None
        if self._shrink_options is None:
            import onnxruntime

            opts = onnxruntime.RunOptions()
            opts.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
            self._shrink_options = opts
        return self._shrink_options

    def infer_impl(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        feeds = self._check_feeds(feeds)
        names = [n for n, _, _ in self._outputs]
        session = self.session
        assert session is not None, "infer() activates the runtime first"
        with self._in_flight_lock:
            self._in_flight += 1
            alone = self._in_flight == 1 and self._side_by_side == 0
        try:
            values = session.run(names, feeds, self._run_options(alone))
        except Exception as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"ONNX Runtime failed running {self.source}: {msg}") from None
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
        return dict(zip(names, values))
