"""Placeholder until the native op lands; replaced wholesale by its implementation."""

from ..errors import BackendUnavailableError


def make_trimap(*args, **kwargs):
    raise BackendUnavailableError("make_trimap is not built yet")
