"""rembg.sessions.u2net on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

U2netSession = _sessions["u2net"]

__all__ = ["U2netSession"]
