"""rembg.sessions.dis_custom on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

DisCustomSession = _sessions["dis_custom"]

__all__ = ["DisCustomSession"]
