"""Placeholder until the native op lands; replaced wholesale by its implementation."""

from ..errors import BackendUnavailableError


def solve_alpha(*args, **kwargs):
    raise BackendUnavailableError("solve_alpha is not built yet")
