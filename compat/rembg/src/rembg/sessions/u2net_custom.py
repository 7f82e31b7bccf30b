"""rembg.sessions.u2net_custom on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

U2netCustomSession = _sessions["u2net_custom"]

__all__ = ["U2netCustomSession"]
