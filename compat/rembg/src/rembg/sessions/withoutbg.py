"""rembg.sessions.withoutbg on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

WithoutBgSession = _sessions["withoutbg"]

__all__ = ["WithoutBgSession"]
