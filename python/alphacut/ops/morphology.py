"""Placeholder until the native op lands; replaced wholesale by its implementation."""

from ..errors import BackendUnavailableError


def dilate(*args, **kwargs):
    raise BackendUnavailableError("dilate is not built yet")


def erode(*args, **kwargs):
    raise BackendUnavailableError("erode is not built yet")
