"""rembg.sessions.sam on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

SamSession = _sessions["sam"]

__all__ = ["SamSession"]
