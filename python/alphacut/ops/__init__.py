"""Native post-processing ops. NumPy in, NumPy out; the GIL is released while native code runs.

Every op takes ``backend="auto"|"cpu"|"cuda"|"emu"`` (keyword-only); see :mod:`._dispatch`.
"""

from __future__ import annotations

from .. import _core, config
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
    "solve_alpha",
    "unpremultiply",
    "upscale_alpha",
]
