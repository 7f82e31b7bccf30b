"""rembg 2.0.86's API on the alphacut engine: ``from rembg import remove, new_session`` works
unchanged. ``__version__`` is the rembg release mirrored (so callers' version gates pass);
``__alphacut_version__`` is the engine's. Everything here maps rembg's names onto
:mod:`alphacut.compat.rembg`."""

from alphacut import __version__ as __alphacut_version__
from alphacut.compat.rembg import REMBG_VERSION as __version__

from .bg import remove
from .session_factory import new_session

__all__ = ["__version__", "__alphacut_version__", "remove", "new_session"]
