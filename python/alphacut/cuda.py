"""Deprecated: use :mod:`alphacut.device`. Kept for one release; every name read from here warns
with a DeprecationWarning and returns the one in :mod:`alphacut.device`."""

from __future__ import annotations

import warnings

from . import device as _device


def __getattr__(name: str):
    if name.startswith("__") or not hasattr(_device, name):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_device, name)
    warnings.warn(f"alphacut.cuda is deprecated; use alphacut.device.{name}", DeprecationWarning, stacklevel=2)
    return value


def __dir__():
    return sorted(_device.__all__)
