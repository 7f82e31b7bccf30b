"""rembg.sessions.dis_anime on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

DisSession = _sessions["isnet-anime"]

__all__ = ["DisSession"]
