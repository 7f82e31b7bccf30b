"""Placeholder until the native op lands; replaced wholesale by its implementation."""

from ..errors import BackendUnavailableError


def resize(*args, **kwargs):
    raise BackendUnavailableError("resize is not built yet")
