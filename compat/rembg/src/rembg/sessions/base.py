"""rembg's ``BaseSession``, to subclass as in rembg (``inner_session``, ``normalize``,
``download_models``, ``name``, the model folders)."""

from alphacut.compat.rembg import BaseSession

__all__ = ["BaseSession"]
