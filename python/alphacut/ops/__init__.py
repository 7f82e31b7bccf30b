"""Native post-processing ops. NumPy in, NumPy out; the GIL is released while native code runs.

Every op takes ``backend="auto"|"cpu"|"cuda"|"emu"`` (keyword-only); see :mod:`._dispatch`.
"""

from __future__ import annotations

from .. import _core, config
from ._dispatch import available_backends
from .composite import composite, premultiply, unpremultiply
from .estimate_foreground import estimate_foreground
from .guided_filter import guided_filter
from .make_trimap import make_trimap
from .morphology import dilate, erode
from .pack_rgba import pack_rgba
from .preprocess import preprocess, preprocess_into
from .resize import resize
from .solve_alpha import solve_alpha
from .upscale_alpha import upscale_alpha


def set_num_threads(n: int) -> None:
    """Threads used by the CPU ops (0 = one per hardware thread)."""
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    """Threads the CPU ops will use."""
    return _core.get_num_threads()


if config.num_threads():
    set_num_threads(config.num_threads())

__all__ = [
    "available_backends",
    "composite",
    "dilate",
    "erode",
    "estimate_foreground",
    "get_num_threads",
    "guided_filter",
    "make_trimap",
    "pack_rgba",
    "premultiply",
    "preprocess",
    "preprocess_into",
    "resize",
    "set_num_threads",
    "solve_alpha",
    "unpremultiply",
    "upscale_alpha",
]
