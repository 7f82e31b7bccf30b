"""alphacut: background removal with native post-processing.

The one-call API mirrors rembg (:func:`remove`, :func:`new_session`); :class:`Session` is
alphacut's own, on NumPy arrays. :mod:`alphacut.ops` holds the native ops,
:mod:`alphacut.image` the decoders and encoders.
"""

from __future__ import annotations

from . import config, image, ops
from .compat.rembg import new_session, remove
from .errors import (
    BackendUnavailableError,
    DecodeError,
    DownloadError,
    Error,
    InputError,
    InternalError,
    ModelError,
)
from .ops import get_num_threads, set_num_threads
from .session import Session

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "config",
    "image",
    "Session",
    "new_session",
    "remove",
    "ops",
    "set_num_threads",
    "get_num_threads",
    "Error",
    "InputError",
    "DecodeError",
    "ModelError",
    "DownloadError",
    "BackendUnavailableError",
    "InternalError",
]


def __getattr__(name: str):
    # alphacut.io was renamed alphacut.image; the old name works, with a warning, for one release.
    if name == "io":
        import warnings

        warnings.warn(
            "alphacut.io is deprecated and will be removed in the next release; use alphacut.image",
            DeprecationWarning,
            stacklevel=2,
        )
        return image
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
