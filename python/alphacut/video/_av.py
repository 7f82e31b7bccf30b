"""PyAV, imported on demand: the rest of alphacut (and ``alphacut --help``) works without it."""

from __future__ import annotations

from typing import Any

from ..errors import Error

INSTALL_HINT = 'pip install "alphacut[video]"'


class VideoDependencyError(Error):
    """PyAV is missing."""


def require_av() -> Any:
    """The ``av`` module, or :class:`VideoDependencyError` saying how to install it."""
    try:
        import av
    except ImportError as exc:
        raise VideoDependencyError(f"video needs PyAV, which is not installed ({exc}): {INSTALL_HINT}") from None
    return av
