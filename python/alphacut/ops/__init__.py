"""Native post-processing ops. NumPy in, NumPy out; the GIL is released while native code runs.

Every op takes ``backend="auto"|"cpu"|"cuda"|"emu"`` (keyword-only); see :mod:`._dispatch`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from .. import _core, config
from ..errors import InputError
from ._composite import composite, premultiply, unpremultiply
from ._dispatch import available_backends
from ._estimate_foreground import estimate_foreground, estimate_foreground_rgba
from ._guided_filter import guided_filter, guided_filter_coefficients
from ._make_trimap import make_trimap
from ._morphology import dilate, erode
from ._pack_rgba import pack_rgba
from ._preprocess import preprocess, preprocess_into
from ._resize import resize
from ._solve_alpha import solve_alpha
from ._upscale_alpha import upscale_alpha


def set_num_threads(n: int) -> None:
    """Threads used by the CPU ops (0 = one per hardware thread); capped at 4 per hardware thread
    and 256 in all (``get_num_threads`` gives the count in use). Threads that cannot be created
    leave their work to the others."""
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    """Threads the CPU ops will use, when called from this thread."""
    return _core.get_num_threads()


@contextmanager
def thread_limit(n: int) -> Iterator[None]:
    """At most ``n`` threads (``n`` >= 1) for the CPU ops called from the current thread inside
    the ``with`` block (other threads keep :func:`set_num_threads`'s count): for workers that run
    images side by side, each on its share of the cores.

    >>> import alphacut.ops as ops
    >>> with ops.thread_limit(1):
    ...     ops.get_num_threads()
    1
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"thread_limit needs a positive integer, got {n!r}")
    before = _core.get_thread_limit()
    _core.set_thread_limit(n)
    try:
        yield
    finally:
        _core.set_thread_limit(before)


if config.num_threads():
    set_num_threads(config.num_threads())

__all__ = [
    "available_backends",
    "composite",
    "dilate",
    "erode",
    "estimate_foreground",
    "estimate_foreground_rgba",
    "get_num_threads",
    "guided_filter",
    "guided_filter_coefficients",
    "make_trimap",
    "pack_rgba",
    "premultiply",
    "preprocess",
    "preprocess_into",
    "resize",
    "set_num_threads",
    "thread_limit",
    "solve_alpha",
    "unpremultiply",
    "upscale_alpha",
]
