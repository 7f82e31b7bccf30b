"""rembg.sessions.bria_rmbg on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BriaRmBgSession = _sessions["bria-rmbg"]

__all__ = ["BriaRmBgSession"]
