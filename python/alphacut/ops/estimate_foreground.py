"""Placeholder until the native op lands; replaced wholesale by its implementation."""

from ..errors import BackendUnavailableError


def estimate_foreground(*args, **kwargs):
    raise BackendUnavailableError("estimate_foreground is not built yet")
