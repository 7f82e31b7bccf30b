"""rembg.sessions.dis_general_use on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

DisSession = _sessions["isnet-general-use"]

__all__ = ["DisSession"]
