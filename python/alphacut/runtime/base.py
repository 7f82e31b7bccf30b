"""The one interface every network runtime implements (ONNX Runtime, TensorRT).

Modelled on Polygraphy's runners: construct cheaply, ``activate()`` loads (or is called on
first use), ``infer(feeds)`` maps input names to arrays and returns output names to arrays,
``deactivate()`` frees. Runtimes are context managers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple

import numpy as np

if TYPE_CHECKING:
    from ..models.manifest import ModelManifest

#: (name, shape with None for dynamic dims, dtype): one network input or output.
TensorInfo = Tuple[str, Tuple[Optional[int], ...], np.dtype]


class Runtime(ABC):
    """A network engine behind ``activate / infer / deactivate``; subclasses implement the
    ``*_impl`` hooks and the metadata."""

    name: str = "runtime"
    #: Set by :func:`~alphacut.runtime.load_runtime` once the network is checked against it;
    #: runtimes made otherwise do not have the attribute.
    manifest: ModelManifest

    def __init__(self) -> None:
        self.is_active = False

    # -- lifecycle -----------------------------------------------------------------------
    def activate(self) -> Runtime:
        if not self.is_active:
            self.activate_impl()
            self.is_active = True
        return self

    def deactivate(self) -> None:
        if self.is_active:
            self.deactivate_impl()
            self.is_active = False

    def __enter__(self) -> Runtime:
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.deactivate()

    # -- inference -----------------------------------------------------------------------
    def infer(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        self.activate()
        return self.infer_impl(feeds)

    def runs_on_device(self, backend: str) -> bool:
        """Whether this runtime can take its input from and leave its outputs in the device
        memory of ``backend`` ("cuda" or "emu") through ``input_buffer(name, shape)`` and
        ``execute()`` (see :class:`alphacut.runtime.trt.TensorRTRuntime`), so that a device
        pipeline segments with no host round trip. Host runtimes (ONNX Runtime) say False."""
        return False

    @contextmanager
    def side_by_side(self) -> Iterator[None]:
        """While inside: calls of :meth:`infer` overlap (images run side by side), so the runtime
        keeps what one call frees for the next instead of handing it back (ONNX Runtime's arena,
        see :class:`alphacut.runtime.OrtRuntime`'s ``shrink_arena``). Nestable; a no-op here."""
        yield

    @property
    def input_names(self) -> List[str]:
        self.activate()
        return [n for n, _, _ in self.input_metadata()]

    @property
    def output_names(self) -> List[str]:
        self.activate()
        return [n for n, _, _ in self.output_metadata()]

    # -- for subclasses ------------------------------------------------------------------
    @abstractmethod
    def activate_impl(self) -> None: ...

    @abstractmethod
    def deactivate_impl(self) -> None: ...

    @abstractmethod
    def infer_impl(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]: ...

    @abstractmethod
    def input_metadata(self) -> List[TensorInfo]:
        """(name, shape with None for dynamic dims, dtype) per graph input."""

    @abstractmethod
    def output_metadata(self) -> List[TensorInfo]:
        """(name, shape with None for dynamic dims, dtype) per graph output."""
