"""rembg.sessions.u2netp on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

U2netpSession = _sessions["u2netp"]

__all__ = ["U2netpSession"]
