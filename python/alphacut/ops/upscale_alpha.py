"""Placeholder until the native op lands; replaced wholesale by its implementation."""

from ..errors import BackendUnavailableError


def upscale_alpha(*args, **kwargs):
    raise BackendUnavailableError("upscale_alpha is not built yet")
