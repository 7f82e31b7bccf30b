"""Exception types.

Two roots, as users need them: :class:`Error` for what the caller can fix (bad image, unknown
model, missing GPU when one was asked for) and :class:`InternalError` for bugs in alphacut.
"""

from __future__ import annotations


class Error(Exception):
    """Something the caller can fix. The message says what was wrong and what to do."""


class InputError(Error, ValueError):
    """An argument or an input image is not acceptable (shape, dtype, values, size)."""


class DecodeError(InputError):
    """An input file or byte string is not a decodable image."""


class ModelError(Error):
    """A model is unknown, missing, corrupt, or not what its manifest says."""


class DownloadError(ModelError):
    """A model file could not be fetched or failed its hash check."""


class BackendUnavailableError(Error):
    """A backend (CUDA, TensorRT, emulation) was asked for but is not available here."""


class InternalError(RuntimeError):
    """A broken invariant inside alphacut: please report it."""


__all__ = [
    "Error",
    "InputError",
    "DecodeError",
    "ModelError",
    "DownloadError",
    "BackendUnavailableError",
    "InternalError",
]
